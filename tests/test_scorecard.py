"""The collection scorecard (business rules §10): training on a time split, the reviewable version, activation,
and the warehouse's SQL scoring equal to the trained model and bit-identical when a night is rebuilt.

The features and labels here are synthetic rows with a known hidden risk type per loan (so the ceiling a
score can reach is known); the real models that build them from deliveries are covered by their dbt unit
tests and the simulated-book run in benchmarks/results.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator

import numpy as np
import psycopg
import pytest

from arrears.errors import ArrearsError

FIRST = dt.date(2026, 1, 4)
DATES = [FIRST + dt.timedelta(days=7 * week) for week in range(8)]
THROUGH = DATES[-1] + dt.timedelta(days=30)
LOANS = 2500
SCORED_NIGHT = THROUGH + dt.timedelta(days=1)
# Hidden risk types: chance of the §10 event within 30 days, and the share of loans.
TYPE_RISK = np.array([0.03, 0.25, 0.6])
TYPE_SHARE = np.array([0.75, 0.18, 0.07])


def _features(rng: np.random.Generator, kind: np.ndarray) -> dict[str, np.ndarray]:
    """Features that carry the type's signal noisily, as the simulator's borrowers do."""
    n = len(kind)
    late = rng.poisson(np.array([0.2, 1.5, 3.0])[kind])
    dpd = np.where(rng.random(n) < np.array([0.05, 0.4, 0.7])[kind], rng.integers(1, 90, n), 0)
    return {
        "dpd": dpd,
        "bucket_order": np.minimum((dpd + 29) // 30, 7),
        "months_on_book": rng.integers(0, 24, n),
        "overdue_to_principal": np.round(np.where(dpd > 0, rng.uniform(0, 0.3, n), 0), 4),
        "paid_to_principal": np.round(rng.uniform(0, 1, n), 4),
        "max_dpd_ever": dpd + rng.poisson(np.array([1, 10, 25])[kind]),
        "delinquent_days": rng.poisson(np.array([1, 12, 30])[kind]),
        "episodes_started": rng.poisson(np.array([0.2, 1.0, 1.5])[kind]),
        "late_payments": late,
        "partial_payments": rng.binomial(late, 0.3),
        "promises_made": rng.poisson(np.array([0.1, 0.8, 1.5])[kind]),
        "promises_kept": rng.poisson(0.3, n),
        "promises_broken": rng.poisson(np.array([0.05, 0.4, 1.0])[kind]),
        "calls_30d": rng.poisson(3, n),
        "rpc_30d": rng.poisson(np.array([1.0, 0.6, 0.3])[kind]),
        "days_since_rpc": np.where(rng.random(n) < 0.3, np.nan, rng.integers(0, 60, n)),
        "is_lost_contact": (rng.random(n) < np.array([0.05, 0.15, 0.3])[kind]).astype(int),
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, server_url: str) -> Iterator[dict[str, object]]:
    """A warehouse holding synthetic features and matured labels, and a scorecard trained on them."""
    from arrears.score import train
    from arrears.warehouse.schema import init_schema

    name = f"test_scorecard_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.execute(f'create database "{name}"')
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    patch = pytest.MonkeyPatch()
    patch.setenv("ARREARS_WAREHOUSE_URL", url)
    home = tmp_path_factory.mktemp("scorecard_home")
    patch.setenv("ARREARS_HOME", str(home))
    rng = np.random.default_rng(24)
    kind = rng.choice(3, LOANS, p=TYPE_SHARE)
    rows, truth = [], []
    with psycopg.connect(url, autocommit=True) as conn:
        init_schema(conn)
        numeric = list(_features(rng, kind[:1]))
        columns = ", ".join(f"{c} double precision" for c in numeric)
        conn.execute("create schema if not exists intermediate")
        conn.execute(
            f"create table intermediate.int_score_features_daily (business_date date, loan_id text, "
            f"{columns}, product_code text)"
        )
        conn.execute("create table intermediate.int_score_labels (business_date date, loan_id text, label integer)")
        for date in [*DATES, SCORED_NIGHT]:
            features = _features(rng, kind)
            product = np.where(rng.random(LOANS) < 0.6, "cash_loan", "installment_purchase")
            label = (rng.random(LOANS) < TYPE_RISK[kind]).astype(int)
            for i in range(LOANS):
                values = [None if np.isnan(features[c][i]) else float(features[c][i]) for c in numeric]
                rows.append((date, f"L{i:06d}", *values, str(product[i])))
                if date != SCORED_NIGHT:
                    truth.append((date, f"L{i:06d}", int(label[i]), float(TYPE_RISK[kind[i]])))
        with conn.cursor() as cur:
            marks = ", ".join(["%s"] * (len(numeric) + 3))
            cur.executemany(f"insert into intermediate.int_score_features_daily values ({marks})", rows)
            cur.executemany("insert into intermediate.int_score_labels values (%s, %s, %s)", [t[:3] for t in truth])
    result = train(THROUGH, every_days=7)
    yield {"url": url, "home": home, "result": result, "truth": truth}
    patch.undo()
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


def _ceiling(truth: list[tuple], holdout_from: str) -> tuple[float, float]:
    from arrears.score.metrics import ks_auc

    held = [t for t in truth if t[0].isoformat() >= holdout_from]
    return ks_auc(np.array([t[2] for t in held]), np.array([t[3] for t in held]))


@pytest.mark.slow
def test_holdout_ks_and_auc_reach_the_bar_next_to_the_true_type_ceiling(trained: dict) -> None:
    result = trained["result"]
    report = json.loads((result.folder / "scorecard.json").read_text())
    ceiling_ks, ceiling_auc = _ceiling(trained["truth"], report["holdout_dates"][0])
    assert report["holdout_dates"][0] > report["train_dates"][1]  # time-based: holdout after training
    assert result.ks >= 0.30 and result.auc >= 0.70
    assert result.auc <= ceiling_auc + 0.02  # nothing beats knowing the type (beyond sampling noise)
    assert abs(result.gini - (2 * result.auc - 1)) < 1e-9


@pytest.mark.slow
def test_the_version_is_written_for_review_and_stored_in_the_warehouse(trained: dict) -> None:
    result = trained["result"]
    for name in ("scorecard.json", "bins.csv", "calibration.csv", "scorecard.md"):
        assert (result.folder / name).is_file()
    report = json.loads((result.folder / "scorecard.json").read_text())
    assert len(report["calibration"]) == 10
    assert sum(c["loans"] for c in report["calibration"]) == result.rows_holdout
    # Monotonic bins: the event rate of dpd's bins moves in one direction.
    rates = [b["event_rate"] for b in report["bins"] if b["feature"] == "dpd" and not b["is_missing"] and b["count"]]
    assert rates == sorted(rates) or rates == sorted(rates, reverse=True)
    with psycopg.connect(trained["url"]) as conn:
        stored = conn.execute(
            "select trained_through, holdout_ks from audit.scorecard_versions where version = %s", (result.version,)
        ).fetchone()
        bins = conn.execute(
            "select count(*) from audit.scorecard_bins where version = %s", (result.version,)
        ).fetchone()
    assert stored is not None and stored[0] == THROUGH and float(stored[1]) == pytest.approx(result.ks)
    assert bins is not None and bins[0] >= len({b["feature"] for b in report["bins"]})


def _warehouse_scores(night: str) -> list[tuple]:
    """The scores int_score_features_daily computes for the scored night's feature rows: the same macro and
    active bins, compiled by dbt for the night and run over this module's synthetic feature rows (the model
    itself derives its features from deliveries; tests/test_score_point_in_time.py builds it)."""
    from arrears.transform import dbt_invoke

    features = f"(select * from intermediate.int_score_features_daily where business_date = '{SCORED_NIGHT}') as night"
    inline = (
        "-- depends_on: {{ ref('stg_scorecard_bins') }}\n"
        f"{{{{ scorecard_scores_select(active_scorecard_bins(), \"{features}\", ['loan_id']) }}}}"
    )
    compiled = dbt_invoke(["compile", "--vars", night, "--inline", inline])
    assert compiled.success
    query = compiled.result.results[0].node.compiled_code
    with psycopg.connect(os.environ["ARREARS_WAREHOUSE_URL"]) as conn:
        return conn.execute(f"select * from ({query}) as scored order by loan_id").fetchall()


@pytest.mark.slow
def test_activation_is_recorded_and_the_warehouse_scores_like_the_model_bit_identically_on_rebuild(
    trained: dict,
) -> None:
    from arrears.score import activate
    from arrears.score.model import Bin, Scorecard
    from arrears.transform import dbt_invoke

    result = trained["result"]
    with pytest.raises(ArrearsError, match="no scorecard version"):
        activate("no-such-version")
    message = activate(result.version, effective_from=SCORED_NIGHT, activated_by="risk-analyst")
    assert "risk-analyst" in message
    night = json.dumps({"business_date": SCORED_NIGHT.isoformat()})
    assert dbt_invoke(["run", "--vars", night, "--select", "stg_scorecard_bins"]).success
    first = _warehouse_scores(night)  # loan_id, scorecard_version, score_points, score_logit, score_probability
    with psycopg.connect(trained["url"]) as conn:
        who = conn.execute("select activated_by from audit.scorecard_activations").fetchall()
        features = conn.execute(
            "select * from intermediate.int_score_features_daily where business_date = %s order by loan_id",
            (SCORED_NIGHT,),
        )
        import pandas as pd

        frame = pd.DataFrame(features.fetchall(), columns=[d.name for d in features.description or []])
    assert who == [("risk-analyst",)]
    assert len(first) == LOANS and {r[1] for r in first} == {result.version}
    report = json.loads((result.folder / "scorecard.json").read_text())
    card = Scorecard(report["intercept"], report["base_points"], [Bin(**b) for b in report["bins"]])
    for column in frame.columns:
        if column not in ("business_date", "loan_id", "product_code"):
            frame[column] = frame[column].astype(float)
    expected = 1 / (1 + np.exp(-card.logit(frame)))
    assert np.allclose([float(r[4]) for r in first], expected, atol=1e-7)
    assert _warehouse_scores(night) == first
