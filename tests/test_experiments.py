"""Champion/challenger experiments (business rules §10) on a simulated book with a known effect.

The simulator splits the loans between the arms exactly as the warehouse does and multiplies the early-stage
cure hazard of the challenger (generate/experiment.py); the warehouse runs the experiment from the
configuration the simulator wrote. Nights built: E (the experiment's first night: every early-stage loan
enters) and D = E + 30 (the cohort's outcome window ends).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg.rows import dict_row

from arrears.errors import ArrearsError
from arrears.experiments import arm_of, parse_experiments
from tests.support.cli import run_cli
from tests.support.reference_dpd import snapshot

START = dt.date(2026, 3, 1)
WINDOW = 30
ENTRY, OUTCOME = START, START + dt.timedelta(days=WINDOW)
LOANS = 10000
Z = 1.959964


def _config(**arm_changes: object) -> dict[str, object]:
    challenger = {"id": "challenger", "share": 0.5, "priority": "next_bucket_first", **arm_changes}
    return {
        "experiments": [
            {
                "id": "early_order",
                "team": "early",
                "salt": "s1",
                "starts_on": "2026-03-01",
                "arms": [{"id": "champion", "share": 0.5, "champion": True}, challenger],
            }
        ]
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"channels": ["visit"]}, "channels visit not allowed for team early by §5"),
        ({"channels": ["sms", "sms"]}, "names a channel twice"),
        ({"priority": "loudest_first"}, "priority 'loudest_first' is not one of"),
        ({"share": 0.6}, "arm shares add up to 1.1, not 1"),
        ({"predue_days": 2}, "predue_days applies only to an experiment on team predue"),
        ({"colour": "red"}, "unknown setting 'colour'"),
        ({"champion": True}, "exactly one arm must be `champion: true` (found 2)"),
    ],
)
def test_a_mistake_in_the_experiments_file_is_one_line(change: dict[str, object], message: str) -> None:
    with pytest.raises(ArrearsError) as raised:
        parse_experiments(_config(**change), "experiments.yml")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
    assert "experiment early_order, arm challenger" in str(raised.value) or "experiment early_order:" in str(
        raised.value
    )


def test_a_longer_predue_window_than_the_rule_is_refused() -> None:
    config = _config()
    config["experiments"][0]["team"] = "predue"  # type: ignore[index]
    config["experiments"][0]["arms"][1] = {"id": "long", "share": 0.5, "predue_days": 5}  # type: ignore[index]
    with pytest.raises(ArrearsError, match="from 1 to 3 .*never lengthen"):
        parse_experiments(config)
    config["experiments"][0]["arms"][1]["predue_days"] = 1  # type: ignore[index]
    assert parse_experiments(config)[0].arms[1].predue_days == 1


def test_experiments_check_prints_one_line_and_fails_on_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "experiments.yml"
    bad.write_text(yaml.safe_dump(_config(channels=["letter"])), encoding="utf-8")
    result = run_cli("experiments", "check", "--file", str(bad))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "channels letter not allowed for team early" in result.stderr
    good = tmp_path / "good.yml"
    good.write_text(yaml.safe_dump(_config()), encoding="utf-8")
    result = run_cli("experiments", "check", "--file", str(good))
    assert result.returncode == 0 and "early_order: team early" in result.stdout


@dataclass
class Book:
    url: str
    truth: Path
    experiment: dict[str, object]


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory, server_url: str) -> Iterator[Book]:
    """A simulated book with the experiment on, ingested for 31 days, built for E and D."""
    from arrears.generate import generate
    from arrears.ingest import ingest_delivery
    from arrears.transform import build
    from arrears.warehouse.schema import init_schema

    landing = tmp_path_factory.mktemp("experiments") / "landing"
    generate(loans=LOANS, start=START, days=WINDOW + 1, seed=11, out=landing, experiment=True)
    truth = Path(str(landing) + "_truth")
    name = f"test_experiments_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.execute(f'create database "{name}"')
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    patch = pytest.MonkeyPatch()
    patch.setenv("ARREARS_WAREHOUSE_URL", url)
    patch.setenv("ARREARS_HOME", str(tmp_path_factory.mktemp("experiments_home")))
    patch.setenv("ARREARS_EXPERIMENTS_FILE", str(truth / "experiments.yml"))
    with psycopg.connect(url, autocommit=True) as conn:
        init_schema(conn)
    for offset in range(WINDOW + 1):
        ingest_delivery(START + dt.timedelta(days=offset), landing)
    build(ENTRY)
    build(OUTCOME)
    experiment = yaml.safe_load((truth / "experiments.yml").read_text())["experiments"][0]
    yield Book(url, truth, experiment)
    patch.undo()
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


def _queue(book: Book, night: dt.date) -> list[dict[str, object]]:
    with psycopg.connect(book.url, row_factory=dict_row) as conn:
        return conn.execute(
            "select loan_id, team_id, arm_id, experiment_id, priority_rank, allowed_channels, hold_reason"
            " from marts.fct_work_queue where business_date = %s",
            (night,),
        ).fetchall()


def _python_arm(book: Book, loan_id: str) -> str:
    arms = book.experiment["arms"]  # type: ignore[index]
    return arm_of(book.experiment["salt"], loan_id, [a["id"] for a in arms], [a["share"] for a in arms])  # type: ignore[index, arg-type]


@pytest.mark.slow
def test_every_early_row_has_the_arm_python_computes_and_shares_are_binomial(book: Book) -> None:
    rows = _queue(book, ENTRY)
    early = [row for row in rows if row["team_id"] == "early"]
    assert len(early) > 100, "too few early-stage loans for the experiment"
    assert all(row["arm_id"] == _python_arm(book, str(row["loan_id"])) for row in early)
    assert all(row["arm_id"] is None for row in rows if row["team_id"] not in ("early", None))
    challengers = sum(row["arm_id"] == "next_bucket_first" for row in early)
    n = len(early)
    # 50 % share: within 3 standard deviations of a binomial(n, 0.5)
    assert abs(challengers - n / 2) <= 3 * math.sqrt(n * 0.25), (challengers, n)


@pytest.mark.slow
def test_a_loan_keeps_its_arm_across_nights_and_reruns(book: Book) -> None:
    from arrears.transform import build

    before = {(r["loan_id"], r["arm_id"], r["priority_rank"]) for r in _queue(book, OUTCOME)}
    build(OUTCOME, select=["int_work_queue_experiments", "fct_work_queue"])
    after = {(r["loan_id"], r["arm_id"], r["priority_rank"]) for r in _queue(book, OUTCOME)}
    assert after == before
    arms_entry = {r["loan_id"]: r["arm_id"] for r in _queue(book, ENTRY) if r["arm_id"]}
    arms_outcome = {r["loan_id"]: r["arm_id"] for r in _queue(book, OUTCOME) if r["arm_id"]}
    both = arms_entry.keys() & arms_outcome.keys()
    assert both and all(arms_entry[loan] == arms_outcome[loan] for loan in both)


@pytest.mark.slow
def test_no_arm_widens_what_the_rules_allow(book: Book) -> None:
    """The published row offers only channels §5 left it; the challenger orders sms before call."""
    with psycopg.connect(book.url) as conn:
        rule = dict(conn.execute("select loan_id, allowed_channels from intermediate.int_work_queue_narrowed"))
        published = conn.execute(
            "select loan_id, arm_id, allowed_channels from marts.fct_work_queue where business_date = %s",
            (OUTCOME,),
        ).fetchall()
    widened = [
        (loan, channels)
        for loan, _, channels in published
        if not set(channels) <= set((rule.get(loan) or "").split("|")) - {""}
    ]
    assert widened == []
    both = [channels for _, arm, channels in published if arm == "next_bucket_first" and len(channels) == 2]
    assert both and all(channels == ["sms", "call"] for channels in both)


@pytest.mark.slow
def test_the_early_file_carries_each_rows_arm(book: Book) -> None:
    """The early recipient's SELECT (what `arrears export` writes) ends with the arm of each queue row."""
    from arrears.export import recipient
    from arrears.export.query import export_query, query_parameters

    early = recipient("early")
    assert early.columns[-1].spec.name == "experiment_arm"
    with psycopg.connect(book.url) as conn:
        rows = conn.execute(export_query(early).sql, query_parameters(early, OUTCOME)).fetchall()
    arms = {str(r["loan_id"]): r["arm_id"] for r in _queue(book, OUTCOME) if r["team_id"] == "early"}
    position = [column.spec.name for column in early.columns].index("loan_id")
    assert rows and {str(row[position]): row[-1] for row in rows} == arms


def _mart(book: Book) -> dict[tuple[str, str], dict[str, object]]:
    with psycopg.connect(book.url, row_factory=dict_row) as conn:
        rows = conn.execute("select * from marts.agg_experiment_outcomes").fetchall()
    return {(str(r["arm_id"]), str(r["metric"])): r for r in rows}


def _raw(conn: psycopg.Connection[dict[str, object]], table: str) -> list[dict[str, object]]:
    return conn.execute(f"select * from raw.{table}").fetchall()  # type: ignore[return-value]


@pytest.mark.slow
def test_the_marts_uplift_equals_an_independent_computation_from_raw_data(book: Book) -> None:
    """Cure and roll rates, loans and collected per loan recomputed from raw.* with the reference DPD
    (tests/support/reference_dpd.py); the mart publishes numeric(28, 6), hence the 1e-6 tolerance."""
    cohort = {str(r["loan_id"]): _python_arm(book, str(r["loan_id"])) for r in _queue(book, ENTRY) if r["arm_id"]}
    with psycopg.connect(book.url, row_factory=dict_row) as conn:
        loans, installments, payments = (
            [row for row in _raw(conn, table) if row["loan_id"] in cohort]
            for table in ("loans", "installments", "payments")
        )
    by_loan: dict[str, list[dict[str, object]]] = {}
    for payment in payments:
        by_loan.setdefault(str(payment["loan_id"]), []).append(payment)
    at_entry = snapshot(loans, installments, payments, ENTRY)
    at_outcome = snapshot(loans, installments, payments, OUTCOME)
    order = ["M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+"]
    per_arm: dict[str, dict[str, list[float]]] = {}
    for loan, arm in cohort.items():
        stats = per_arm.setdefault(arm, {"cured": [], "rolled": [], "collected": []})
        start, end = at_entry[loan], at_outcome.get(loan)
        if start.dpd > 0:
            stats["cured"].append(1.0 if end is None or end.dpd == 0 else 0.0)
        rolled = end is not None and order.index(end.bucket) > order.index(start.bucket)
        stats["rolled"].append(1.0 if rolled else 0.0)
        stats["collected"].append(
            float(
                sum(
                    (-1 if p["reversal_of"] else 1) * p["amount"]  # type: ignore[operator]
                    for p in by_loan.get(loan, [])
                    if ENTRY < p["value_date"] <= OUTCOME and p["_business_date"] <= OUTCOME  # type: ignore[operator]
                )
            )
        )
    mart = _mart(book)
    for arm, stats in per_arm.items():
        assert float(mart[(arm, "loans")]["metric_value"]) == len(stats["rolled"])  # type: ignore[arg-type]
        for metric, values in (("cure_rate_30d", stats["cured"]), ("roll_rate_30d", stats["rolled"])):
            p = sum(values) / len(values)
            half = Z * math.sqrt(p * (1 - p) / len(values))
            row = mart[(arm, metric)]
            assert float(row["metric_value"]) == pytest.approx(p, abs=1e-6), metric  # type: ignore[arg-type]
            assert float(row["ci_high"]) - float(row["ci_low"]) == pytest.approx(2 * half, abs=3e-6)  # type: ignore[arg-type]
        mean = sum(stats["collected"]) / len(stats["collected"])
        assert float(mart[(arm, "collected_per_loan")]["metric_value"]) == pytest.approx(mean, abs=1e-6)  # type: ignore[arg-type]
    champion, challenger = per_arm["champion"]["cured"], per_arm["next_bucket_first"]["cured"]
    difference = sum(challenger) / len(challenger) - sum(champion) / len(champion)
    row = mart[("next_bucket_first", "cure_rate_30d")]
    assert float(row["difference_from_champion"]) == pytest.approx(difference, abs=2e-6)  # type: ignore[arg-type]


@pytest.mark.slow
def test_the_marts_uplift_is_consistent_with_the_simulators_true_uplift(book: Book) -> None:
    """The true uplift of this cohort (the simulator's hazards, each loan's type and DPD at entry) lies in
    the mart's 95 % interval of the challenger's cure-rate difference, and the measured difference is positive."""
    from arrears.generate.experiment import expected_cure_probability

    truth = json.loads((book.truth / "experiment.json").read_text())
    factors = truth["cure_hazard_factor"]
    with psycopg.connect(book.url) as conn:
        cohort = conn.execute(
            "select loan_id, dpd_at_entry from marts.fct_experiment_loans where was_delinquent"
        ).fetchall()
    uplift = [
        expected_cure_probability(truth["loans"][loan]["borrower_type"], dpd, WINDOW, factors["next_bucket_first"])
        - expected_cure_probability(truth["loans"][loan]["borrower_type"], dpd, WINDOW, factors["champion"])
        for loan, dpd in cohort
    ]
    true_uplift = sum(uplift) / len(uplift)
    row = _mart(book)[("next_bucket_first", "cure_rate_30d")]
    low, high = float(row["difference_ci_low"]), float(row["difference_ci_high"])  # type: ignore[arg-type]
    print(f"true uplift {true_uplift:.4f}, mart {float(row['difference_from_champion']):.4f} [{low:.4f}, {high:.4f}]")  # type: ignore[arg-type]
    assert low <= true_uplift <= high
    assert float(row["difference_from_champion"]) > 0  # type: ignore[arg-type]


@pytest.mark.slow
def test_without_experiments_the_queue_keeps_the_rule_order(book: Book) -> None:
    """With no experiment configured, no row has an arm and each team's priority is the §5 order; the
    model's dbt unit test (arms reorder, narrow and hold, never widen) runs in the same build."""
    from arrears.experiments import EXPERIMENTS_FILE
    from arrears.transform import build

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARREARS_EXPERIMENTS_FILE", str(EXPERIMENTS_FILE))
        build(OUTCOME, select=["int_work_queue_experiments", "fct_work_queue"], unit_tests=True)
    with psycopg.connect(book.url) as conn:
        rows = conn.execute(
            "select loan_id, arm_id, priority_rank, broke_promise_today, days_to_next_bucket, overdue_amount"
            " from marts.fct_work_queue where business_date = %s and team_id = 'early'",
            (OUTCOME,),
        ).fetchall()
    assert rows and all(row[1] is None for row in rows)
    by_rule = sorted(rows, key=lambda r: (not r[3], r[4] if r[4] is not None else 10**9, -r[5], r[0]))
    assert [row[2] for row in by_rule] == list(range(1, len(rows) + 1))
