"""The dbt unit tests of the delinquency models (every §1-4 rule edge) pass on the real warehouse."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

# Every rule edge the issue lists has a dbt unit test (see the models' YAML files).
EXPECTED_UNIT_TESTS = {
    "version_known_at_the_business_date",
    "first_delivery_wins_and_later_deliveries_are_invisible",
    "closed_and_written_off_loans",
    "restructure_takes_over_from_its_effective_date",
    "reversal_signs_and_dates",
    "partial_payment_goes_fee_then_interest_then_principal",
    "payment_within_and_just_outside_the_tolerance",
    "prepayment_covers_several_installments_in_order",
    "reversal_counts_only_from_its_value_date",
    "restructure_ignores_payments_before_the_new_version",
    "every_bucket_and_class_boundary",
    "due_on_d_is_not_late_and_pre_due_window_edges",
    "oldest_unsettled_counts_a_remainder_within_tolerance",
}


@pytest.mark.slow
def test_delinquency_unit_tests_pass(conn: psycopg.Connection) -> None:
    from arrears.transform import build

    # The snapshot reads the stored payments (stored_payments), filled by the macro stg_payments is built
    # from; stg_payments' unit test pins the first-delivery rule both share.
    result = build(date(2026, 3, 10), select=["+fct_loan_delinquency_daily", "stg_payments"], unit_tests=True)

    unit_tests = {n.name: n.status for n in result.nodes if n.resource_type == "unit_test"}
    assert EXPECTED_UNIT_TESTS <= unit_tests.keys()
    assert all(status == "pass" for status in unit_tests.values()), unit_tests
