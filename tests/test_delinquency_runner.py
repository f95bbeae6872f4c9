"""The dbt runner: `arrears build` reports each node, fails on one line naming the failed nodes, writes the manifest."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import run_cli
from tests.support.raw_deliveries import RawDeliveries


def test_connection_env_is_taken_from_the_warehouse_url() -> None:
    from arrears.transform.invoke import connection_env

    assert connection_env("postgresql://pipeline:s%40cret@db.example:6543/arrears") == {
        "ARREARS_DBT_HOST": "db.example",
        "ARREARS_DBT_PORT": "6543",
        "ARREARS_DBT_USER": "pipeline",
        "ARREARS_DBT_PASSWORD": "s@cret",
        "ARREARS_DBT_DBNAME": "arrears",
    }


@pytest.mark.slow
def test_build_reports_every_node_and_the_snapshot_rows(conn: psycopg.Connection, arrears_home: Path) -> None:
    from arrears.transform import build

    raw = RawDeliveries()
    raw.loan(date(2026, 3, 1), "L1", date(2026, 1, 1))
    raw.installment(date(2026, 3, 1), "L1", 1, date(2026, 2, 1), "100.00", effective_from=date(2026, 1, 1))
    raw.insert(conn)

    result = build(date(2026, 3, 10), select=["+fct_loan_delinquency_daily"])

    statuses = {(n.name, n.resource_type): n.status for n in result.nodes}
    assert statuses[("fct_loan_delinquency_daily", "model")] == "success"
    assert statuses[("dpd_buckets", "seed")] == "success"
    assert not result.failed_nodes
    assert result.summary().startswith("built 2026-03-10: models ")
    assert " 0 failed" in result.summary()
    assert result.as_dict()["nodes"]
    assert conn.execute("select dpd from marts.fct_loan_delinquency_daily where loan_id = 'L1'").fetchone() == (37,)
    # The build handed what dbt created to the pipeline role (its grants and policies follow the owner).
    owner = conn.execute("select tableowner from pg_tables where tablename = 'int_loan_delinquency_daily'").fetchone()
    assert owner == ("arrears_pipeline",)
    view_owner = conn.execute("select viewowner from pg_views where viewname = 'fct_loan_delinquency_daily'").fetchone()
    assert view_owner == ("arrears_pipeline",)
    # dbt wrote into this home, never into the project folder.
    assert (arrears_home / "dbt" / "target" / "run_results.json").exists()


@pytest.mark.slow
def test_the_next_night_is_built_without_parsing_the_project_again(
    conn: psycopg.Connection, arrears_home: Path
) -> None:
    """The date changes every night, yet dbt parses the project once per home (decision 003)."""
    from arrears.transform import build

    raw = RawDeliveries()
    raw.loan(date(2026, 3, 1), "L1", date(2026, 1, 1))
    raw.installment(date(2026, 3, 1), "L1", 1, date(2026, 2, 1), "100.00", effective_from=date(2026, 1, 1))
    raw.insert(conn)

    build(date(2026, 3, 10), select=["+fct_loan_delinquency_daily"])
    build(date(2026, 3, 11), select=["+fct_loan_delinquency_daily"])

    log = (arrears_home / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")
    # At most the first night parses in full (none when the home starts from the worker's reused parse,
    # decision 037); the second night never does.
    assert log.count("Starting full parse") <= 1
    assert "Starting full parse" not in log.split("Running with dbt=")[-1]
    # ... and each night computed its own date (DPD 37 on 10 March, 38 on 11 March), tests filtered to it.
    dpd = conn.execute("select business_date, dpd from marts.fct_loan_delinquency_daily order by 1").fetchall()
    assert dpd == [(date(2026, 3, 10), 37), (date(2026, 3, 11), 38)]
    compiled = arrears_home / "dbt" / "target" / "run" / "arrears" / "models"
    where_clauses = [p.read_text() for p in compiled.rglob("accepted_values_int_loan_delin_*.sql")]
    assert where_clauses and "cast('2026-03-11' as date)" in where_clauses[0]


def _index_columns(conn: psycopg.Connection, table: str) -> set[str]:
    rows = conn.execute(
        "select regexp_replace(indexdef, '.*\\((.*)\\).*', '\\1') from pg_indexes where tablename = %s", [table]
    ).fetchall()
    return {row[0] for row in rows}


@pytest.mark.slow
def test_an_index_dropped_from_the_config_is_dropped_from_an_existing_snapshot(conn: psycopg.Connection) -> None:
    """A warehouse built while the snapshot still had a loan-first index loses it on its next night."""
    from arrears.transform import build

    raw = RawDeliveries()
    raw.loan(date(2026, 3, 1), "L1", date(2026, 1, 1))
    raw.installment(date(2026, 3, 1), "L1", 1, date(2026, 2, 1), "100.00", effective_from=date(2026, 1, 1))
    raw.insert(conn)
    build(date(2026, 3, 10), select=["+fct_loan_delinquency_daily"])
    conn.execute("create index older_loan_first on intermediate.int_loan_delinquency_daily (loan_id, business_date)")
    conn.commit()
    assert _index_columns(conn, "int_loan_delinquency_daily") == {"business_date, loan_id", "loan_id, business_date"}

    result = build(date(2026, 3, 11), select=["+fct_loan_delinquency_daily"])

    assert not result.failed_nodes
    assert _index_columns(conn, "int_loan_delinquency_daily") == {"business_date, loan_id"}
    days = conn.execute("select business_date, dpd from marts.fct_loan_delinquency_daily order by 1").fetchall()
    assert days == [(date(2026, 3, 10), 37), (date(2026, 3, 11), 38)]


@pytest.mark.slow
def test_a_snapshot_built_before_the_oldest_unsettled_column_gains_it_on_its_next_night(
    conn: psycopg.Connection,
) -> None:
    """D-1's rows predate the column: the night still carries forward, recomputing a loan whose paid
    installment fell due (the column would have spared it), and the column is filled from then on."""
    from arrears.transform import build

    raw = RawDeliveries()
    raw.loan(date(2026, 3, 1), "LATE", date(2026, 1, 1))
    raw.installment(date(2026, 3, 1), "LATE", 1, date(2026, 2, 1), "100.00", effective_from=date(2026, 1, 1))
    raw.loan(date(2026, 3, 1), "PAID", date(2026, 1, 1))
    raw.installment(date(2026, 3, 1), "PAID", 1, date(2026, 3, 10), "100.00", effective_from=date(2026, 1, 1))
    raw.installment(date(2026, 3, 1), "PAID", 2, date(2026, 4, 10), "100.00", effective_from=date(2026, 1, 1))
    raw.payment(date(2026, 3, 1), "P1", "PAID", date(2026, 3, 1), "100.00")
    raw.insert(conn)
    build(date(2026, 3, 10), select=["+fct_loan_delinquency_daily"])
    # The published view goes with the column (cascade); the next build re-creates it.
    conn.execute("alter table intermediate.int_loan_delinquency_daily drop column oldest_unsettled_due_date cascade")
    conn.commit()

    result = build(date(2026, 3, 11), select=["+fct_loan_delinquency_daily"])

    assert not result.failed_nodes
    assert {r[0] for r in conn.execute("select loan_id from intermediate.int_loans_to_recompute")} == {"PAID"}
    rows = conn.execute(
        "select loan_id, dpd, overdue_amount, oldest_unsettled_due_date from marts.fct_loan_delinquency_daily"
        " where business_date = '2026-03-11' order by loan_id"
    ).fetchall()
    assert rows == [("LATE", 38, Decimal("100.00"), None), ("PAID", 0, Decimal("0.00"), date(2026, 4, 10))]


@pytest.mark.slow
def test_docs_generate_documents_every_published_column(conn: psycopg.Connection) -> None:
    from arrears.transform import build, generate_docs

    build(date(2026, 3, 10), select=["+fct_loan_delinquency_daily"])
    index = generate_docs()

    assert index.name == "index.html" and index.exists()
    manifest = json.loads((index.parent / "manifest.json").read_text())
    catalog = json.loads((index.parent / "catalog.json").read_text())
    documented = manifest["nodes"]["model.arrears.fct_loan_delinquency_daily"]["columns"]
    in_warehouse = catalog["nodes"]["model.arrears.fct_loan_delinquency_daily"]["columns"]
    assert {name.lower() for name in in_warehouse} == set(documented)
    assert all(column["description"] for column in documented.values())


@pytest.mark.slow
def test_a_null_in_a_not_null_column_of_an_incremental_model_fails_the_build_with_one_line(
    conn: psycopg.Connection, arrears_home: Path
) -> None:
    """The snapshot's borrower_id is NOT NULL in its table (decision 040): PostgreSQL refuses the row, no data test."""
    raw = RawDeliveries()
    raw.loan(date(2026, 3, 1), "L1", date(2026, 1, 1), borrower_id=None)  # the snapshot needs a borrower
    raw.insert(conn)

    finished = run_cli("build", "--date", "2026-03-10")

    assert finished.returncode != 0
    last_line = finished.stderr.strip().splitlines()[-1]
    assert "int_loan_delinquency_daily" in last_line
    assert "Traceback" not in finished.stderr
    log = (arrears_home / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert 'null value in column "borrower_id"' in log and "violates not-null constraint" in log


@pytest.mark.slow
def test_a_null_in_a_not_null_column_of_a_table_model_fails_its_model(
    conn: psycopg.Connection, arrears_home: Path
) -> None:
    """A published table's key is NOT NULL in its DDL (decision 040): an arrangement without an id arriving from
    the layer below fails fct_arrangements itself, though no data test checks the column on PostgreSQL."""
    from arrears.transform import BuildFailed, build

    build(date(2026, 3, 10), select=["+fct_arrangements"])
    conn.execute("insert into intermediate.int_arrangement_states (arrangement_id, loan_id) values (null, 'L1')")
    conn.commit()

    with pytest.raises(BuildFailed) as failed:
        build(date(2026, 3, 10), select=["fct_arrangements"])

    assert [(n.name, n.status) for n in failed.value.result.failed_nodes] == [("fct_arrangements", "error")]
    log = (arrears_home / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert 'null value in column "arrangement_id"' in log and "violates not-null constraint" in log


@pytest.mark.slow
def test_an_incremental_table_built_before_its_not_null_constraint_gains_it_on_its_next_night(
    conn: psycopg.Connection,
) -> None:
    """dbt writes a contract's DDL only when it creates the table: the build's on-run-start sets the NOT NULL an
    upgraded warehouse's incremental table lacks (adopt_not_null_constraints), once, then nothing."""
    from arrears.transform import build

    raw = RawDeliveries()
    raw.loan(date(2026, 3, 1), "L1", date(2026, 1, 1))
    raw.insert(conn)
    build(date(2026, 3, 10), select=["+fct_loan_delinquency_daily"])
    conn.execute("alter table intermediate.int_loan_delinquency_daily alter column borrower_id drop not null")
    conn.commit()

    build(date(2026, 3, 11), select=["+fct_loan_delinquency_daily"])

    nullable = conn.execute(
        "select is_nullable from information_schema.columns"
        " where table_name = 'int_loan_delinquency_daily' and column_name = 'borrower_id'"
    ).fetchone()
    assert nullable == ("NO",)


@pytest.mark.slow
def test_an_upgraded_table_whose_history_holds_nulls_checks_new_rows_and_still_builds(
    conn: psycopg.Connection,
) -> None:
    """Older nights of agg_compliance_violations_daily have no `actions` (docs/work-queue.md): the upgrade cannot set
    NOT NULL on that history, so the column gets a NOT VALID check (new rows checked) and the night builds."""
    from arrears.transform import build

    build(date(2026, 3, 10), select=["+agg_compliance_violations_daily"])
    conn.execute("alter table marts.agg_compliance_violations_daily alter column actions drop not null")
    conn.execute(
        "insert into marts.agg_compliance_violations_daily (business_date, team_id, rule, violations, actions)"
        " values ('2026-01-01', 'early', 'outside_contact_window', 1, null)"
    )
    conn.commit()

    build(date(2026, 3, 11), select=["+agg_compliance_violations_daily"])

    assert conn.execute(
        "select pg_get_constraintdef(oid) from pg_constraint where conname = 'not_null_actions'"
        " and conrelid = 'marts.agg_compliance_violations_daily'::regclass"
    ).fetchone() == ("CHECK ((actions IS NOT NULL)) NOT VALID",)
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "insert into marts.agg_compliance_violations_daily (business_date, team_id, rule, violations, actions)"
            " values ('2026-03-12', 'early', 'outside_contact_window', 1, null)"
        )
    conn.rollback()


@pytest.mark.slow
def test_compile_manifest_writes_a_stable_manifest(warehouse_url: str, arrears_home: Path) -> None:
    from arrears.transform import compile_manifest, manifest_path

    written = compile_manifest()

    assert written == manifest_path() == arrears_home / "dbt" / "manifest" / "manifest.json"
    nodes = json.loads(written.read_text())["nodes"]
    assert "model.arrears.fct_loan_delinquency_daily" in nodes
    assert nodes["model.arrears.fct_loan_delinquency_daily"]["config"]["contract"]["enforced"] is True
