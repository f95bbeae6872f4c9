"""`make docs`: generate the dbt documentation site (models, columns, lineage, catalog) and open it.

python -m arrears.transform.docs [--no-open]
"""

from __future__ import annotations

import argparse
import webbrowser
from pathlib import Path

from arrears.settings import paths
from arrears.transform.invoke import DbtInvocationError, dbt_invoke


def generate_docs() -> Path:
    """Run `dbt docs generate` against the warehouse (the catalog reads its tables); returns index.html."""
    from arrears.warehouse import connect
    from arrears.warehouse.schema import ensure_schema

    with connect(autocommit=True) as conn:
        ensure_schema(conn)
    result = dbt_invoke(["docs", "generate"])
    if not result.success:
        raise DbtInvocationError("dbt docs generate failed: see the dbt log under $ARREARS_HOME/dbt/logs")
    return paths().dbt_target / "index.html"


def main() -> None:
    """Generate the docs, print where they are, and open them in a browser unless --no-open."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-open", action="store_true", help="only generate and print the path")
    args = parser.parse_args()
    index = generate_docs()
    print(index)
    if not args.no_open:
        webbrowser.open(index.as_uri())


if __name__ == "__main__":
    main()
