"""The Airflow Assets that link the nightly's DAGs, and that downstream teams can schedule on.

Each asset event carries the business dates it is about in `extra["business_dates"]` (a list: a backfill
announces several).
"""

from __future__ import annotations

from airflow.sdk import Asset

from arrears.contract import entity_names

PUBLISHED_MARTS = (
    "fct_loan_delinquency_daily",
    "fct_delinquency_episodes",
    "agg_roll_rates_monthly",
    "agg_vintage_curves",
    "fct_work_queue",
    "fct_promises_to_pay",
    "agg_collection_performance_daily",
    "fct_compliance_violations",
)


def _asset(schema: str, name: str) -> Asset:
    return Asset(name=f"{schema}.{name}", uri=f"arrears://warehouse/{schema}/{name}", group="arrears")


LOADED_ENTITIES = [_asset("raw", entity) for entity in entity_names()]
MARTS = [_asset("marts", mart) for mart in PUBLISHED_MARTS]
QUALITY_RESULTS = _asset("audit", "dq_results")
EXPORTS = _asset("exports", "work_queues")
