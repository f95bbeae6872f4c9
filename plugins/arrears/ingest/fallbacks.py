"""The loader's paths, fastest first, and the signals that send a file from one to the next.

1. fast path (`direct_copy`): pre-filtered rows COPYed in binary straight into the typed table;
2. exact path (`loader`): every row COPYed as CSV into a landing table, then validated and routed by
   one SQL statement (`sql.route_statement`);
3. Python fallback (`loader`): when COPY cannot read the file structurally, the exact path parses it
   record by record, marks the broken records, and routes the rest with the same SQL.
"""


class NeedsExactPath(Exception):
    """The fast path cannot load this file exactly: load it the exact way instead."""


class NeedsPythonParse(Exception):
    """COPY's reading of this file cannot be trusted: parse it record by record instead."""
