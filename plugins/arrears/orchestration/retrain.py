"""The monthly scorecard retrain: train a new version through the last night built and only propose it.

Activation stays a person's decision (`arrears score activate VERSION`, recorded with who and when).
"""

from __future__ import annotations

from arrears.errors import ArrearsError


def propose_scorecard() -> str:
    """Train through the latest business date built; return the summary naming the proposed version."""
    from arrears.score import train
    from arrears.warehouse import connect

    with connect() as conn:
        row = conn.execute(
            "select max(business_date) from intermediate.int_score_features_daily"
            if conn.execute("select to_regclass('intermediate.int_score_features_daily')").fetchone() != (None,)
            else "select null::date"
        ).fetchone()
    if row is None or row[0] is None:
        raise ArrearsError("no night has been built with score features yet: nothing to train on")
    return train(row[0]).summary()
