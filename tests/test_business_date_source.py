"""The business date reaches every model through the macro business_date() and data tests through
`__business_date__` (decision 003). A model or test that read the var itself would silently compute
2000-01-01 (the var's "not given" default) every night, so the var is read in one place only."""

from __future__ import annotations

import re
from pathlib import Path

DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"
READS_THE_VAR = re.compile(r"""var\(\s*\\?["']business_date\\?["']""")
THE_ONE_READER = DBT_PROJECT / "macros" / "business_rules" / "point_in_time.sql"


def test_only_the_business_date_macro_reads_the_business_date_var() -> None:
    readers = [
        path.relative_to(DBT_PROJECT).as_posix()
        for folder in ("models", "macros", "tests", "seeds", "snapshots", "analyses")
        for path in sorted((DBT_PROJECT / folder).rglob("*"))
        if path.suffix in {".sql", ".yml", ".yaml"}
        and path != THE_ONE_READER
        and READS_THE_VAR.search(path.read_text())
    ]
    assert readers == [], "use business_date() in SQL and __business_date__ in a data test's where: " + ", ".join(
        readers
    )


def test_the_pattern_catches_both_quotings() -> None:
    assert READS_THE_VAR.search("cast('{{ var('business_date') }}' as date)")
    assert READS_THE_VAR.search(r"""where: "business_date = '{{ var(\"business_date\") }}'" """)
