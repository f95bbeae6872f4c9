"""The `arrears` command: the stable surface. The Airflow DAGs call the same functions."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from arrears.errors import ArrearsError

Handler = Callable[[argparse.Namespace], int]


_STRICT_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(text: str) -> dt.date:
    # Only YYYY-MM-DD: date.fromisoformat also takes 20261008 and 2026-W41-4, which nobody means on purpose.
    try:
        if not _STRICT_DATE.fullmatch(text):
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


_DURATION_PART = re.compile(r"(\d+)([smhd])")
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _duration(text: str) -> dt.timedelta:
    """`2h`, `90m`, `1h30m`, `45s`."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise argparse.ArgumentTypeError(f"not a duration (e.g. 2h, 90m, 1h30m): {text!r}")
    return sum((dt.timedelta(**{_DURATION_UNITS[unit]: int(number)}) for number, unit in parts), dt.timedelta())


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1): {text!r}")
    return value


# --- handlers: thin; each imports its module lazily so `arrears --help` stays instant -------------


def _db(args: argparse.Namespace) -> int:
    from arrears.warehouse import commands

    return commands.run(args.action)


def _generate(args: argparse.Namespace) -> int:
    from arrears.generate import generate

    summary = generate(
        loans=args.loans,
        start=args.start,
        days=args.days,
        seed=args.seed,
        out=Path(args.out),
        inject_faults=args.inject_faults,
        experiment=args.experiment,
    )
    print(summary)
    return 0


def _experiments(args: argparse.Namespace) -> int:
    from arrears.experiments import experiments_file, load_experiments

    path = Path(args.file) if args.file else experiments_file()
    experiments = load_experiments(path)
    for experiment in experiments:
        arms = ", ".join(f"{arm.id} {arm.share:g}{' (champion)' if arm.champion else ''}" for arm in experiment.arms)
        print(f"{experiment.id}: team {experiment.team}, from {experiment.starts_on}, arms {arms}")
    print(f"{path}: {len(experiments)} experiment(s), valid")
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from arrears.spark.session import engine

    landing = Path(args.landing) if args.landing else None
    if engine() == "spark":  # Spark's own readers into its raw tables (docs/decisions/034)
        from arrears.spark.landing import land_delivery

        result = land_delivery(args.date, landing)
    else:
        from arrears.ingest import ingest_delivery

        result = ingest_delivery(args.date, landing)
    print(result.summary())
    return 0


def _quarantine(args: argparse.Namespace) -> int:
    from arrears.ingest.quarantine import print_quarantine, quarantined_rows
    from arrears.spark.session import engine

    if engine() == "spark":  # Spark's audit.quarantine, written by its landing (docs/decisions/034)
        from arrears.spark.landing import quarantined_rows_on_spark

        rows, total = quarantined_rows_on_spark(args.date, args.limit)
    else:
        rows, total = quarantined_rows(args.date, args.limit)
    print_quarantine(args.date, rows, total)
    return 0


def _build(args: argparse.Namespace) -> int:
    from arrears.checks.night_status import undelivered_reason
    from arrears.transform import build

    if (reason := undelivered_reason(args.date)) is not None:
        print(f"arrears: warning: {reason}: building on stale data; check and export will refuse it", file=sys.stderr)
    print(build(args.date, full_refresh=args.full_refresh).summary())
    return 0


def _check(args: argparse.Namespace) -> int:
    from arrears.checks import run_checks

    outcome = run_checks(args.date)
    print(outcome.summary(), file=sys.stderr if outcome.refused else sys.stdout)
    return 0 if outcome.success else 5


def _export(args: argparse.Namespace) -> int:
    from arrears.export import ExportFailed, export_each

    return _each_result("export", args.date, export_each(args.date), ExportFailed)


def _deliver(args: argparse.Namespace) -> int:
    from arrears.deliver import NotDelivered, deliver_each

    return _each_result("deliver", args.date, deliver_each(args.date), NotDelivered)


def _each_result(step: str, day: dt.date, results: Sequence[Any], failure: type[Any]) -> int:
    """Print one line per recipient; non-zero when any failed (their common exit code, else 1)."""
    for result in results:
        print(result.summary(), flush=True)
    failed = [result for result in results if isinstance(result, failure)]
    if not failed:
        return 0
    names = ", ".join(result.recipient for result in failed)
    print(f"arrears: error: {step} {day}: {len(failed)} of {len(results)} recipients failed: {names}", file=sys.stderr)
    codes = {result.exit_code for result in failed}
    return codes.pop() if len(codes) == 1 else 1


def _audit(args: argparse.Namespace) -> int:
    from arrears.nights.audit import night_report, recent_nights

    print(night_report(args.date) if args.date else recent_nights())
    return 0


def _retract(args: argparse.Namespace) -> int:
    from arrears.nights.retract import retract

    print(retract(args.date, args.reason).summary())
    return 0


def _nightly(args: argparse.Namespace) -> int:
    from arrears.orchestration.nightly import run_nightly_dag

    landing = Path(args.landing) if args.landing else None
    print(run_nightly_dag(args.date, landing, wait=args.wait, log=lambda line: print(line, flush=True)))
    return 0


def _backfill(args: argparse.Namespace) -> int:
    from arrears.orchestration.backfill import backfill

    for line in backfill(args.from_date, args.to_date, Path(args.landing) if args.landing else None):
        print(line, flush=True)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from arrears.orchestration.demo import run_demo

    print(run_demo(loans=args.loans, days=args.days, airflow_days=args.airflow_days, seed=args.seed))
    return 0


def _airflow(args: argparse.Namespace) -> int:
    from arrears.orchestration.services import serve

    return serve(args.port, celery=args.celery)


def _report(args: argparse.Namespace) -> int:
    from arrears.report import write_report

    print(write_report(args.date))
    return 0


def _docs(args: argparse.Namespace) -> int:
    from arrears.transform.docs import generate_docs

    print(f"dbt docs: {generate_docs()}")
    if args.serve:
        from arrears.transform import dbt_invoke

        dbt_invoke(["docs", "serve", "--port", str(args.port), "--no-browser"])
    return 0


def _purge(args: argparse.Namespace) -> int:
    from arrears.retention import purge

    print(purge(args.date, dry_run=args.dry_run).summary())
    return 0


def _score(args: argparse.Namespace) -> int:
    from arrears.score import activate, train

    if args.action == "train":
        if args.through is None:
            raise ArrearsError("score train needs --through YYYY-MM-DD")
        print(train(args.through, every_days=args.every_days, loan_share=args.loan_share).summary())
    else:
        if not args.version:
            raise ArrearsError("score activate needs the VERSION printed by `arrears score train`")
        print(activate(args.version, effective_from=args.effective_from))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand (also used by the docs)."""
    parser = argparse.ArgumentParser(prog="arrears", description="Nightly collections data platform.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.set_defaults(handler=handler)
        return cmd

    db = command("db", _db, "Manage the warehouse: start|stop|status|url|init.")
    db.add_argument("action", choices=["start", "stop", "status", "url", "init"])

    gen = command("generate", _generate, "Write synthetic landing deliveries for a simulated portfolio.")
    gen.add_argument("--loans", type=_positive_int, required=True)
    gen.add_argument("--start", type=_date, required=True)
    gen.add_argument("--days", type=_positive_int, required=True)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--out", required=True, help="landing root to write <YYYY-MM-DD>/ folders into")
    gen.add_argument("--inject-faults", type=_rate, default=0.0, metavar="RATE")
    gen.add_argument(
        "--experiment", action="store_true", help="simulate behaviour.yml's experiment (docs/experiments.md)"
    )

    exp = command("experiments", _experiments, "Validate the champion/challenger experiments file.")
    exp.add_argument("action", choices=["check"])
    exp.add_argument("--file", help="the file to check (default $ARREARS_EXPERIMENTS_FILE or config/experiments.yml)")

    ing = command("ingest", _ingest, "Validate and load the delivery of one business date.")
    ing.add_argument("--date", type=_date, required=True)
    ing.add_argument("--landing", help="landing root (default $ARREARS_HOME/landing)")

    qua = command("quarantine", _quarantine, "List the quarantined rows of a business date and why.")
    qua.add_argument("--date", type=_date, required=True)
    qua.add_argument("--limit", type=int, default=100)

    bld = command("build", _build, "Build every dbt model for a business date.")
    bld.add_argument("--date", type=_date, required=True)
    bld.add_argument("--full-refresh", action="store_true", help="rebuild incremental models from scratch")

    chk = command("check", _check, "Run the data-quality suites for a business date.")
    chk.add_argument("--date", type=_date, required=True)

    exp = command("export", _export, "Write the work-queue files of a business date for every recipient.")
    exp.add_argument("--date", type=_date, required=True)

    dlv = command("deliver", _deliver, "Push the exported files of a business date to each recipient's SFTP.")
    dlv.add_argument("--date", type=_date, required=True)

    aud = command("audit", _audit, "What happened to a night: delivery, build, checks, exports, deliveries, mark.")
    aud.add_argument("--date", type=_date, help="one night in detail (default: the last 14 nights, a line each)")

    ret = command("retract", _retract, "Take back a published date: withdraw its files and block its exports.")
    ret.add_argument("--date", type=_date, required=True)
    ret.add_argument("--reason", required=True, help="why, for the audit trail and the recipients' notice")

    nig = command("nightly", _nightly, "Run the nightly DAG for one business date through Airflow.")
    nig.add_argument("--date", type=_date, required=True)
    nig.add_argument("--landing", help="landing root (default $ARREARS_HOME/landing)")
    nig.add_argument(
        "--wait", type=_duration, metavar="DURATION", help="wait this long for the manifest (e.g. 2h); default: fail"
    )

    bkf = command("backfill", _backfill, "Rebuild a range of business dates in date order (idempotent).")
    bkf.add_argument("--from", dest="from_date", type=_date, required=True)
    bkf.add_argument("--to", dest="to_date", type=_date, required=True)
    bkf.add_argument("--landing", help="landing root (default $ARREARS_HOME/landing)")

    dem = command("demo", _demo, "Simulate a small portfolio and run it through the nightly DAG.")
    dem.add_argument("--loans", type=_positive_int, default=3000)
    dem.add_argument("--days", type=_positive_int, default=8)
    dem.add_argument("--airflow-days", type=_positive_int, default=3, help="the last N dates run through Airflow")
    dem.add_argument("--seed", type=int, default=20261001)

    rep = command("report", _report, "Write the run report (HTML + report.json) of a business date.")
    rep.add_argument("--date", type=_date, required=True)

    doc = command("docs", _docs, "Generate the dbt docs site for the warehouse (and optionally serve it).")
    doc.add_argument("--serve", action="store_true")
    doc.add_argument("--port", type=_positive_int, default=8081)

    pur = command(
        "purge", _purge, "Delete personal data and export folders past retention (plugins/arrears/config/retention.yml)"
    )
    pur.add_argument("--date", type=_date, help="judge as of this date (default: today in the source time zone)")
    pur.add_argument("--dry-run", action="store_true", help="show what would be purged; change nothing")

    sco = command("score", _score, "Collection scorecard: train a new version, or activate one (docs/scorecard.md).")
    sco.add_argument("action", choices=["train", "activate"])
    sco.add_argument("version", nargs="?", help="activate: the version to put to work")
    sco.add_argument("--through", type=_date, help="train: the last business date whose data may be used")
    sco.add_argument("--every-days", type=_positive_int, default=7, help="train: one snapshot date in N")
    sco.add_argument("--loan-share", type=_rate, default=1.0, help="train: share of the loans sampled (by id)")
    sco.add_argument("--from", dest="effective_from", type=_date, help="activate: first business date to score")

    afl = command("airflow", _airflow, "Start the Airflow UI and scheduler for this home (Ctrl-C stops).")
    afl.add_argument("--port", type=_positive_int, default=8080)
    afl.add_argument(
        "--celery", action="store_true", help="CeleryExecutor: redis broker and two workers (worker-1, worker-2)"
    )
    return parser


def _is_operational(err: Exception) -> bool:
    """Faults of the environment rather than bugs: the warehouse went away, the disk is full."""
    import psycopg

    return isinstance(err, psycopg.OperationalError | OSError)


# Commands that read an existing warehouse: on a home without one they refuse instead of creating an empty one.
_NEEDS_WAREHOUSE = {
    "score", "build", "check", "export", "deliver", "quarantine", "report", "audit", "retract", "docs", "purge"
}  # fmt: skip
_DB_NEEDS_WAREHOUSE = {"start", "status", "url"}


def _needs_existing_warehouse(args: argparse.Namespace) -> bool:
    if args.command == "db":
        return bool(args.action in _DB_NEEDS_WAREHOUSE)
    return args.command in _NEEDS_WAREHOUSE


class _Terminated(KeyboardInterrupt):
    """SIGTERM received: unwinds like Ctrl-C (transactions roll back, `finally` blocks run)."""


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (`timeout`, `kill`, a supervisor) ends the command wherever it is waiting."""
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: one clear line and a non-zero exit for every user mistake."""
    warnings.filterwarnings("ignore")  # library deprecation chatter is not for operators
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    args = build_parser().parse_args(argv)
    try:
        if _needs_existing_warehouse(args):
            from arrears.warehouse import require_warehouse

            require_warehouse()
        return int(args.handler(args))
    except ArrearsError as err:
        print(f"arrears: error: {err}", file=sys.stderr)
        return err.exit_code
    except Exception as err:
        # A database fault (restart, lost connection, full disk) is one line too; ARREARS_DEBUG=1 shows the traceback.
        if os.environ.get("ARREARS_DEBUG") or not _is_operational(err):
            raise
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
        print(f"arrears: error: {type(err).__name__}: {first_line}", file=sys.stderr)
        return 1
    except _Terminated:
        print("arrears: terminated (SIGTERM)", file=sys.stderr)
        # `finally` blocks have run; skip the libraries' exit hooks (Airflow's in-process API waits on a
        # stopped event loop and prints a traceback), so the command ends now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(143)
    except KeyboardInterrupt:
        print("arrears: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
