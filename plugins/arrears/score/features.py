"""Which features a scorecard uses and how training reads them with their matured labels."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import yaml

from arrears.settings import DBT_PROJECT_DIR


def feature_names() -> tuple[list[str], list[str]]:
    """The numeric and the categorical features (dbt vars, so SQL scoring and training share one list)."""
    variables = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]
    return list(variables["score_numeric_features"]), list(variables["score_categorical_features"])


def horizon_days() -> int:
    variables = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]
    return int(variables["score_horizon_days"])


FETCH_ROWS = 200_000  # rows per fetch from the server-side cursor: bounds the Python objects alive at once


def training_rows(conn: Any, through: dt.date, every_days: int, loan_share: float) -> pd.DataFrame:
    """Features of the dates whose label matured by `through` (one date every `every_days`, counted back
    from the last), a deterministic share of the loans (by a hash of loan_id), with their label.

    Only what training uses is read: the date, the features (numeric ones cast to float in the warehouse,
    so no Decimal objects) and the label, streamed through a server-side cursor in chunks that become
    compact columns (float64, a categorical product) before the next chunk is fetched."""
    numeric, categorical = feature_names()
    last = through - dt.timedelta(days=horizon_days())
    columns = ", ".join(
        [f"cast(features.{name} as double precision) as {name}" for name in numeric]
        + [f"features.{name}" for name in categorical]
    )
    buckets = max(1, round(loan_share * 1000))
    query = f"""
        select features.business_date, {columns}, cast(labels.label as smallint) as label
        from intermediate.int_score_features_daily as features
        inner join intermediate.int_score_labels as labels
            on features.business_date = labels.business_date and features.loan_id = labels.loan_id
        where features.business_date <= %(last)s
          and (%(last)s - features.business_date) %% %(every)s = 0
          and abs(hashtext(features.loan_id)) %% 1000 < %(buckets)s
        order by features.business_date, features.loan_id
    """
    chunks: list[pd.DataFrame] = []
    with conn.transaction(), conn.cursor(name="score_training_rows") as cur:
        cur.execute(query, {"last": last, "every": every_days, "buckets": buckets})
        names: list[str] = []
        while rows := cur.fetchmany(FETCH_ROWS):
            names = names or [d.name for d in cur.description]
            chunks.append(_compact(pd.DataFrame.from_records(rows, columns=names), numeric, categorical))
    if not chunks:
        return pd.DataFrame(columns=["business_date", *numeric, *categorical, "label"])
    frame = pd.concat(chunks, ignore_index=True)
    for name in categorical:
        frame[name] = frame[name].astype(str)
    return frame


def _compact(chunk: pd.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    for name in numeric:
        chunk[name] = chunk[name].astype(float)
    for name in categorical:
        chunk[name] = chunk[name].astype(str).astype("category")
    chunk["label"] = chunk["label"].astype("int8")
    return chunk
