"""Checksums of every stored table and published mart of a home's warehouse, to prove a refactoring
changed no row: run it on the home built by the old code and on the home built by the new code from
the same deliveries, then compare.

    python -m benchmarks.table_checksums --home /tmp/before --out before.json
    python -m benchmarks.table_checksums --home /tmp/after --out after.json
    python -m benchmarks.table_checksums --compare before.json after.json

Per relation (the tables of staging, stored and intermediate, the tables and views of marts): its row count and the
md5 of all its rows as text, ordered by that text (a total order, so the key's order included).
Relations renamed by the dbt layering (docs/decisions/019) are reported under their new names, so
the two homes line up; the published marts that became views over a stored state are compared both
as the state table and as the mart. The views of staging and intermediate (functions of the
business_date var last built) are not compared. Exit status 1 when a relation differs or is missing
on one side.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

SCHEMAS = ("staging", "stored", "intermediate", "marts")
DIGEST = "select count(*), md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) from {} as t"
# Old name -> new name(s): the stored copies moved to schema stored; the state of two published marts
# moved to intermediate and the mart became a view over it (same rows under both names).
RENAMED = {
    "staging.stg_loans_to_recompute": ("intermediate.int_loans_to_recompute",),
    "intermediate.int_payments": ("stored.stored_payments",),
    "intermediate.int_installments": ("stored.stored_installments",),
    "intermediate.int_collection_actions": ("stored.stored_collection_actions",),
    "intermediate.int_contact_points": ("stored.stored_contact_points",),
    "intermediate.int_promises_made": ("stored.stored_promises_made",),
    "marts.fct_loan_delinquency_daily": ("marts.fct_loan_delinquency_daily", "intermediate.int_loan_delinquency_daily"),
    "marts.fct_promises_to_pay": ("marts.fct_promises_to_pay", "intermediate.int_promises_to_pay"),
}


def checksums(home: Path) -> dict[str, dict[str, object]]:
    """{schema.relation: {rows, md5}} for the compared relations of the warehouse of `home`."""
    os.environ["ARREARS_HOME"] = str(home)
    os.environ.pop("ARREARS_WAREHOUSE_URL", None)
    from psycopg import sql

    from arrears.warehouse import connect

    found: dict[str, dict[str, object]] = {}
    with connect(autocommit=True) as conn:
        relations = conn.execute(
            "select table_schema, table_name, table_type from information_schema.tables"
            " where table_schema = any(%s) order by 1, 2",
            (list(SCHEMAS),),
        ).fetchall()
        for schema, name, kind in relations:
            if schema != "marts" and kind == "VIEW":
                continue
            digest_sql = sql.SQL(DIGEST).format(sql.Identifier(schema, name))
            rows, digest = conn.execute(digest_sql).fetchone()  # type: ignore[misc]
            for new_name in RENAMED.get(f"{schema}.{name}", (f"{schema}.{name}",)):
                found[new_name] = {"rows": rows, "md5": digest}
    return found


def compare(before: dict[str, dict[str, object]], after: dict[str, dict[str, object]]) -> int:
    """Print one line per relation; 1 when any differs or exists on one side only."""
    differing = 0
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            print(f"same      {name}: {old['rows']:,} rows, md5 {old['md5']}")  # type: ignore[index]
        else:
            differing += 1
            print(f"DIFFERENT {name}: before {old}, after {new}")
    print(f"{len(set(before) | set(after)) - differing} relations identical, {differing} different or missing")
    return 1 if differing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, help="the ARREARS_HOME whose warehouse to read")
    parser.add_argument("--out", type=Path, help="write the checksums to this JSON file")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"), help="compare two JSON files")
    args = parser.parse_args()
    if args.compare:
        before, after = (json.loads(path.read_text()) for path in args.compare)
        return compare(before, after)
    if not args.home:
        parser.error("give --home (and --out) or --compare BEFORE AFTER")
    found = checksums(args.home)
    text = json.dumps(found, indent=1, sort_keys=True)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
