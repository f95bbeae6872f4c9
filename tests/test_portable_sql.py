"""The dbt project stays portable (docs/decisions/009-cross-database-sql.md): PostgreSQL-only SQL
appears only inside the `postgres__` implementations of dispatched macros (dbt_project/macros/), so
a move to another dbt adapter is new `<adapter>__` macros and a profile, not a rewrite of models.

This is a text scan, not a parser: it catches the PostgreSQL constructs the project has used (and
the ones a PostgreSQL habit reintroduces first). It reads the SQL outside jinja, and the string
literals inside jinja tags (SQL fragments handed to macros, hook strings); comments are ignored.
It cannot see PostgreSQL's `date + integer` / `date - date` arithmetic (use the `add_days` macro
and `dbt.datediff`), nor engine differences in shared functions (e.g. `least`/`greatest` and nulls).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"
SCANNED = ("models", "tests", "macros")

# The one list: (name, pattern, what to write instead). A name is what ALLOWED refers to.
POSTGRES_ONLY: list[tuple[str, re.Pattern[str], str]] = [
    ("cast operator ::", re.compile(r"::"), "cast(x as <type>), dbt.type_string() etc. for non-ANSI types"),
    ("distinct on", re.compile(r"\bdistinct\s+on\s*\(", re.I), "{{ deduplicate(relation, keys, order_by) }}"),
    (
        "aggregate filter clause",
        re.compile(r"\bfilter\s*\(\s*where\b", re.I),
        "count(case when c then 1 end), sum(case when c then x end)",
    ),
    ("interval literal", re.compile(r"\binterval\s*'", re.I), "dbt.dateadd / add_days"),
    ("generate_series", re.compile(r"(?<![\w.])generate_series\s*\(", re.I), "a join with an integer series"),
    ("at time zone", re.compile(r"\bat\s+time\s+zone\b", re.I), "{{ local_timestamp(ts) }} / {{ local_date(ts) }}"),
    ("date_trunc()", re.compile(r"(?<![\w.])date_trunc\s*\(", re.I), "dbt.date_trunc"),
    ("lateral", re.compile(r"\blateral\b", re.I), "a join (plus row_number() for 'first match')"),
    ("bool_or() / bool_and()", re.compile(r"(?<![\w.])bool_(?:or|and)\s*\(", re.I), "dbt.bool_or / bool_and macro"),
    ("string_agg()", re.compile(r"(?<![\w.])string_agg\s*\(", re.I), "dbt.listagg"),
    (
        "array syntax or function",
        re.compile(
            r"\barray\s*\[|(?<![\w.])(?:unnest|string_to_array|array_to_string|array_remove|cardinality)\s*\(|"
            r"=\s*any\s*\(|&&",
            re.I,
        ),
        "split_to_array / array_filter / array_contains / arrays_overlap / array_size / array_to_text macros",
    ),
    ("CTE materialization hint", re.compile(r"\bas\s+(?:not\s+)?materialized\b", re.I), "{{ cte_inlined() }}"),
    ("infinity date", re.compile(r"'-?infinity'", re.I), "a real bounding date"),
    ("PostgreSQL type name", re.compile(r"\bas\s+(?:text|timestamptz|jsonb?)\s*[)\[]", re.I), "dbt.type_* macros"),
    ("analyze hook", re.compile(r"\banalyze\b", re.I), "{{ analyze_relation(this) }}"),
    ("ilike", re.compile(r"\bilike\b", re.I), "lower(x) like lower(y)"),
]

# Known exceptions: {(path relative to dbt_project, construct name): why}. Empty since every model,
# test and shared macro was made portable; an entry that no longer matches fails the test.
ALLOWED: dict[tuple[str, str], str] = {}

# A jinja tag, skipping over its string literals (a hook string holds `{{ this }}`).
_JINJA = re.compile(r"""\{\{(?:"[^"]*"|'[^']*'|.)*?\}\}|\{%(?:"[^"]*"|'[^']*'|.)*?%\}|\{#.*?#\}""", re.S)
_JINJA_STRING = re.compile(r'"([^"\\]*)"|\'([^\'\\]*)\'')
_SQL_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_POSTGRES_MACRO = re.compile(r"\{%-?\s*macro\s+postgres__\w+.*?\{%-?\s*endmacro\s*-?%\}", re.S)


def checked_text(source: str) -> str:
    """The parts of a dbt SQL file the rule applies to: SQL outside jinja (comments removed) and the
    string literals inside jinja expressions and statements. postgres__ macro bodies are exempt."""
    source = _POSTGRES_MACRO.sub(" ", source)
    parts: list[str] = []
    position = 0
    for tag in _JINJA.finditer(source):
        parts.append(_SQL_COMMENT.sub(" ", source[position : tag.start()]))
        if not tag.group().startswith("{#"):
            parts.extend(a or b for a, b in _JINJA_STRING.findall(tag.group()))
        position = tag.end()
    parts.append(_SQL_COMMENT.sub(" ", source[position:]))
    return "\n".join(parts)


def violations(source: str) -> set[str]:
    text = checked_text(source)
    return {name for name, pattern, _ in POSTGRES_ONLY if pattern.search(text)}


def _sql_files() -> list[Path]:
    return sorted(p for folder in SCANNED for p in (DBT_PROJECT / folder).rglob("*.sql"))


def test_the_scan_sees_the_project() -> None:
    files = {p.relative_to(DBT_PROJECT).as_posix() for p in _sql_files()}
    assert len([f for f in files if f.startswith("models/")]) >= 30
    assert "macros/portability/cross_database.sql" in files


@pytest.mark.parametrize("path", _sql_files(), ids=lambda p: p.relative_to(DBT_PROJECT).as_posix())
def test_no_postgres_only_sql_outside_dispatched_macros(path: Path) -> None:
    relative = path.relative_to(DBT_PROJECT).as_posix()
    found = violations(path.read_text(encoding="utf-8"))
    allowed = {name for (file, name) in ALLOWED if file == relative}
    hints = {name: hint for name, _, hint in POSTGRES_ONLY}
    assert not found - allowed, {name: hints[name] for name in found - allowed}
    assert not allowed - found, f"stale ALLOWED entries for {relative}: {allowed - found}"


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("select x::date from t", "cast operator ::"),
        ("select distinct on (a) * from t order by a", "distinct on"),
        ("select count(*) filter (where ok) from t", "aggregate filter clause"),
        ("select d - interval '1 day'", "interval literal"),
        ("from t cross join lateral generate_series(0, 3)", "generate_series"),
        ("select ts at time zone 'UTC'", "at time zone"),
        ("select date_trunc('month', d)", "date_trunc()"),
        ("left join lateral (select 1) as x on true", "lateral"),
        ("select bool_and(ok) from t", "bool_or() / bool_and()"),
        ("select string_agg(x, ',') from t", "string_agg()"),
        ("where 'call' = any(channels)", "array syntax or function"),
        ("with x as not materialized (select 1)", "CTE materialization hint"),
        ("coalesce(d, '-infinity')", "infinity date"),
        ("select cast(x as text) from t", "PostgreSQL type name"),
        ("{{ config(post_hook='analyze {{ this }}') }}", "analyze hook"),
        ("{{ dbt.bool_or(\"kind::text = 'x'\") }}", "cast operator ::"),
        ("{% macro shared() %}select x::int{% endmacro %}", "cast operator ::"),
    ],
)
def test_the_scan_catches(snippet: str, expected: str) -> None:
    assert expected in violations(snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        "select {{ dbt.date_trunc('month', 'd') }}, {{ dbt.bool_or('ok') }} from t",
        "-- distinct on, ::date and filter (where) in a comment\nselect 1",
        "{# at time zone #} select {{ local_date('action_at') }}",
        "{% macro postgres__x(a) %}select {{ a }}::text at time zone 'UTC'{% endmacro %}",
        "select cast(x as {{ dbt.type_string() }}), {{ analyze_relation(this) }}",
        "where a is distinct from b",
    ],
)
def test_the_scan_allows(snippet: str) -> None:
    assert violations(snippet) == set()
