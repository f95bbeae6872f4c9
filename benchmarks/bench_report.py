"""Run-report benchmark: `write_report` against marts of a full-size portfolio.

    python -m benchmarks.bench_report --loans 1000000

In one throw-away database on the warehouse server, fills the relations the report reads with
synthetic rows (server-side generate_series, no Python per row): the delinquency snapshot for D and
D-1 (indexed on business_date, as an incremental mart is), a work queue for a fifth of the loans,
promises, violations, roll rates, vintages, DQ results and quarantine rows. Then times
`write_report(D)` and prints the seconds, the page and JSON sizes and the process's peak memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import tempfile
import time
from pathlib import Path

DAY = dt.date(2026, 11, 21)

FILL = [
    """create table marts.fct_loan_delinquency_daily as
       select d::date as business_date, 'L' || n as loan_id, 'B' || n as borrower_id, 'P1' as product_code,
              dpd, case when dpd = 0 then 'M0' when dpd <= 30 then 'M1' when dpd <= 60 then 'M2'
                        when dpd <= 90 then 'M3' when dpd <= 180 then 'M4' else 'M7+' end as bucket,
              case when dpd = 0 then 'current' when dpd <= 30 then 'early' when dpd <= 90 then 'mid'
                   else 'late' end as stage,
              (dpd * 37.5)::numeric(18,2) as overdue_amount, 10000::numeric(18,2) as outstanding_principal
       from generate_series(%(day)s::date - 1, %(day)s::date, interval '1 day') as d,
            generate_series(1, %(loans)s) as n,
            lateral (select case when n %% 5 = 0 then (n * 7) %% 400 else 0 end as dpd) as x""",
    "create index on marts.fct_loan_delinquency_daily (business_date)",
    """create table marts.fct_work_queue as
       select business_date, business_date + 1 as work_date, loan_id, borrower_id,
              case when dpd %% 17 = 0 then null else stage end as team_id, array['call'] as allowed_channels,
              1 as priority_rank, case when dpd %% 17 = 0 then 'dispute,' || stage else stage end as reason,
              dpd, bucket, overdue_amount,
              case when dpd %% 17 = 0 then null else stage end as recipient
       from marts.fct_loan_delinquency_daily where dpd > 0""",
    "create index on marts.fct_work_queue (business_date)",
    """create table marts.fct_promises_to_pay as
       select 'A' || n as action_id, 'L' || n as loan_id, %(day)s::date - (n %% 60) as promised_on,
              %(day)s::date - (n %% 60) + 5 as promised_date, 500::numeric(18,2) as promised_amount,
              (array['open', 'kept', 'broken', 'superseded'])[1 + n %% 4] as status, null::date as kept_on
       from generate_series(1, %(loans)s / 10) as n""",
    """create table marts.fct_compliance_violations as
       select 'A' || n as action_id, %(day)s::date - (n %% 30) as business_date,
              (array['outside_contact_window', 'contact_during_restriction'])[1 + n %% 2] as rule,
              (array['early', 'mid', 'agency:acme'])[1 + n %% 3] as team_id, 'agent' || (n %% 50) as agent_id
       from generate_series(1, %(loans)s / 100) as n""",
    """create table marts.agg_roll_rates_monthly as
       select (date_trunc('month', %(day)s::date) - make_interval(months => m) - interval '1 day')::date as month_end,
              f as from_bucket, t as to_bucket, 100 as loans, 0.125 as loans_share,
              100000::numeric(18,2) as principal, 0.125 as principal_share
       from generate_series(0, 11) as m, unnest(array['M0','M1','M2','M3','M4','M5','M6','M7+']) as f,
            unnest(array['M0','M1','M2','M3','M4','M5','M6','M7+']) as t""",
    """create table marts.agg_vintage_curves as
       select (date_trunc('month', %(day)s::date) - make_interval(months => c))::date as cohort_month,
              mob as months_on_book, 1000 as loans, mob * 0.004 as ever_30_share,
              mob * 0.002 as ever_60_share, mob * 0.001 as ever_90_share
       from generate_series(0, 23) as c, generate_series(1, 24) as mob where mob <= c + 1""",
    # Trends: 90 nights of the daily aggregates (the delinquency snapshot above has D-1 and D only).
    """create table marts.agg_collection_performance_daily as
       select d::date as business_date, t as team_id, 'agent1' as agent_id, 'call' as channel,
              100 as promises_due, 60 as promises_kept, (%(loans)s / 10)::numeric(18,2) as collected_amount
       from generate_series(%(day)s::date - 89, %(day)s::date, interval '1 day') as d,
            unnest(array['predue', 'early', 'mid', 'field', 'legal']) as t""",
    """create table marts.agg_compliance_violations_daily as
       select d::date as business_date, 'early' as team_id, 'agent1' as agent_id, null::text as agency_name,
              'outside_contact_window' as rule, 3 as violations
       from generate_series(%(day)s::date - 89, %(day)s::date, interval '1 day') as d""",
    """insert into audit.dq_results (run_id, business_date, suite, expectation, success, observed_value)
       select 'run1', %(day)s, 'suite' || (n %% 10), 'expectation' || n, n %% 50 <> 0, n::text
       from generate_series(1, 200) as n""",
    """insert into audit.quarantine (business_date, entity, file, line_no, raw_row, reason)
       select %(day)s, (array['payments', 'loans'])[1 + n %% 2], 'f.csv', n, 'x', 'bad_type'
       from generate_series(1, %(loans)s / 100) as n""",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loans", type=int, default=1_000_000)
    args = parser.parse_args()

    import psycopg

    from arrears.warehouse import admin_url
    from arrears.warehouse.schema import init_schema

    server = admin_url().rsplit("/", 1)[0]
    name = f"bench_report_{os.getpid()}"
    with psycopg.connect(server + "/postgres", autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    try:
        os.environ["ARREARS_WAREHOUSE_URL"] = f"{server}/{name}"
        with psycopg.connect(os.environ["ARREARS_WAREHOUSE_URL"], autocommit=True) as conn:
            init_schema(conn)
            started = time.monotonic()
            for statement in FILL:
                conn.execute(statement, {"day": DAY, "loans": args.loans})
            conn.execute("analyze")
            fill_seconds = time.monotonic() - started
        with tempfile.TemporaryDirectory() as home:
            os.environ["ARREARS_HOME"] = home
            from arrears.report import write_report

            started = time.monotonic()
            page = write_report(DAY)
            seconds = time.monotonic() - started
            html_kib = page.stat().st_size / 1024
            json_kib = Path(page.parent, "report.json").stat().st_size / 1024
    finally:
        with psycopg.connect(server + "/postgres", autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"- portfolio: {args.loans:,} loans x 2 days in the snapshot (filled in {fill_seconds:.1f} s)")
    print(f"- write_report: {seconds:.2f} s; index.html {html_kib:.0f} KiB, report.json {json_kib:.0f} KiB")
    print(f"- peak memory of the process: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
