"""dbt's `adapter.dispatch` for sqlfluff's jinja templater (library_path in .sqlfluff).

Resolves a project macro to its `postgres__` implementation (else `default__`) among the macros
sqlfluff loaded from dbt_project/macros, as dbt-postgres does.
"""

from __future__ import annotations

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context


@pass_context
def dispatch(context: Context, macro_name: str, macro_namespace: str | None = None) -> Any:
    for prefix in ("postgres__", "default__"):
        macro = context.get(prefix + macro_name)
        if macro is not None:
            return macro
    raise LookupError(f"sqlfluff stand-in for adapter.dispatch: no postgres__/default__{macro_name}")
