"""dbt execution mode in Airflow: one `dbt build` vs astronomer-cosmos per-model tasks, same date and selection.

    python -m benchmarks.bench_dbt_modes [--loans 300] [--days 2] [--select PATTERN ...]
                                         [--modes plain,task,local,watcher]

Issue 8's bar: the dbt part of a night may cost at most 1.2x a plain `dbt build` of the same
selection, with every model's status still visible. In a throw-away $ARREARS_HOME (its own embedded
PostgreSQL, Airflow metadata DB, DAGs folder and cosmos cache) this script generates and ingests a
small portfolio, builds every night once untimed (seeds, incremental tables), then times for the
LAST business date and the same selection:

- plain:   `arrears.transform.build(D, select=...)` in this process: one `dbt build`, no Airflow;
- task:    the same call as the one task of a DAG, run by `dag.test()` (the shape collections_transform has);
- local:   a cosmos `DbtDag`, ExecutionMode.LOCAL, LoadMode.DBT_MANIFEST (manifest from `compile_manifest()`),
           TestBehavior.BUILD (one `dbt build` per node with its tests: the fewest invocations LOCAL can
           make), in-process dbtRunner (no interpreter start per task), via `dag.test()`;
- watcher: the same DAG in ExecutionMode.WATCHER (one producer `dbt build` + one sensor per model and
           per model's tests), via `dag.test()` (see run_consumers_after_producer for the one change).

Every timed run starts with a cold dbt parse: cosmos passes the date as --vars, and dbt re-parses the
whole project when vars change (the runner passes it in the environment instead, decision 003).
`plain` runs first and again last so a change in machine load shows; the ratio uses their mean.
Prints a Markdown table and the DAG files' parse time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

START = dt.date(2026, 10, 1)
SEED = 20261001
BAR = 1.2  # issue 8: at most 1.2x a plain dbt build
DAG_MODES = ("task", "local", "watcher")
LABELS = {
    "plain": "plain dbt build (no Airflow)",
    "noop": "Airflow harness: one empty task",
    "task": "one Airflow task: dbt build",
    "local": "cosmos LOCAL, a task per node",
    "watcher": "cosmos WATCHER",
}


@dataclass
class Timing:
    """One measured run of a mode."""

    mode: str
    invocations: int | None
    tasks: int | None
    seconds: float | None
    outcome: str


def prepare_home(loans: int, days: int) -> dt.date:
    """Generate and ingest `days` deliveries and build each once, untimed; returns the last (measured) date."""
    from arrears.generate import generate
    from arrears.ingest import ingest_delivery
    from arrears.settings import paths
    from arrears.transform import BuildFailed, build
    from arrears.warehouse import connect
    from arrears.warehouse.schema import init_schema

    landing = paths().landing
    print(f"# {generate(loans=loans, start=START, days=days, seed=SEED, out=landing, inject_faults=0.0)}", flush=True)
    with connect(autocommit=True) as conn:
        init_schema(conn)
    last = START + dt.timedelta(days=days - 1)
    day = START
    while day <= last:
        ingest_delivery(day, landing)
        # Untimed: seeds, incremental tables, and the measured date's rows (every timed run then replaces
        # them, the same work for each mode). A failing node (the project is being extended) is reported,
        # not fatal: the timed runs say how they ended.
        try:
            print(f"# warm-up {build(day).summary()}", flush=True)
        except BuildFailed as failed:
            print(f"# warm-up {failed.result.summary()} ({failed})", flush=True)
        day += dt.timedelta(days=1)
    return last


def forget_partial_parse() -> None:
    """Start the next dbt command with a full parse, as a night does (its business_date var is new)."""
    from arrears.settings import paths

    (paths().dbt_target / "partial_parse.msgpack").unlink(missing_ok=True)


def time_plain(day: dt.date, select: list[str] | None) -> Timing:
    """Mode plain: one in-process `dbt build` through the runner the nightly uses."""
    from arrears.transform import BuildFailed, build

    forget_partial_parse()
    started = time.perf_counter()
    try:
        result = build(day, select=select)
        outcome = f"ok, {len(result.nodes)} nodes"
    except BuildFailed as failed:
        outcome = f"failed: {len(failed.result.failed_nodes)} of {len(failed.result.nodes)} nodes"
    return Timing(LABELS["plain"], 1, None, time.perf_counter() - started, outcome)


def one_task_dag(day: dt.date, select: list[str] | None) -> Any:
    """Mode task: a DAG whose one task runs `arrears.transform.build`, as collections_transform's dbt_build does."""
    from airflow.sdk import DAG, task

    with DAG("bench_dbt_task", schedule=None, start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), catchup=False) as dag:

        @task
        def dbt_build() -> str:
            from arrears.transform import build

            return build(day, select=select).summary()

        dbt_build()
    return dag


def cosmos_dag(mode: str, day: dt.date, select: list[str] | None, manifest: Path) -> Any:
    """Modes local and watcher: a cosmos DbtDag rendered from the compiled manifest (no dbt at parse time).

    LOCAL uses TestBehavior.BUILD (one `dbt build` per node, its tests included: the fewest
    invocations LOCAL can make); WATCHER keeps cosmos's default (a consumer task per model and per
    model's tests), as it rejects BUILD: its producer already runs one `dbt build` of everything.
    """
    from cosmos import DbtDag, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

    from arrears.settings import DBT_PROJECT_DIR

    execution_mode = {"local": ExecutionMode.LOCAL, "watcher": ExecutionMode.WATCHER}[mode]
    test_behavior = TestBehavior.BUILD if mode == "local" else TestBehavior.AFTER_EACH
    dag = DbtDag(
        dag_id=f"bench_dbt_{mode}",
        schedule=None,
        start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        catchup=False,
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=manifest,
            install_dbt_deps=False,
            dbt_vars={"business_date": day.isoformat()},
        ),
        profile_config=ProfileConfig(
            profile_name="arrears",
            target_name="warehouse",
            profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml",
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            select=select or [],
            test_behavior=test_behavior,
        ),
        execution_config=ExecutionConfig(
            execution_mode=execution_mode,
            invocation_mode=InvocationMode.DBT_RUNNER,
        ),
        # The nightly runner leaves dbt unit tests to CI (arrears.transform.build): the same here.
        operator_args={"dbt_cmd_flags": ["--exclude-resource-type", "unit_test"]},
    )
    if mode == "watcher":
        run_consumers_after_producer(dag)
    return dag


def run_consumers_after_producer(dag: Any) -> None:
    """Let WATCHER run under dag.test(): every consumer starts only after the producer has finished.

    On a real scheduler the consumer sensors start beside the producer (cosmos gives the root ones
    trigger_rule "always"; a model with only sources upstream, e.g. stg_restrictions, has no upstream
    task at all) and show each model as it completes. dag.test() runs one task at a time and runs a
    deferred sensor's trigger inline until it fires, so a consumer picked before the producer waits
    for XCom nobody writes (observed: it polls every 10 s until its timeout). Here each task with no
    upstream, or with the producer as its upstream, waits for the producer with "all_done": the same
    dbt work, serialised.
    """
    producer = next(task for task in dag.tasks if "producer" in task.task_id)
    for task in dag.tasks:
        if task is producer:
            continue
        if not task.upstream_task_ids:
            producer >> task
        if producer.task_id in task.upstream_task_ids:
            task.trigger_rule = "all_done"


def noop_dag() -> Any:
    """One empty task: run first, untimed, so no mode pays dag.test()'s one-off start-up (~25 s here)."""
    from airflow.sdk import DAG, task

    with DAG("bench_dbt_noop", schedule=None, start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), catchup=False) as dag:

        @task
        def nothing() -> None:
            return None

        nothing()
    return dag


def make_dag(mode: str, day: dt.date, select: list[str] | None, manifest: Path) -> Any:
    """The DAG of one Airflow-run mode (called from the DAG files this benchmark writes)."""
    if mode == "noop":
        return noop_dag()
    return one_task_dag(day, select) if mode == "task" else cosmos_dag(mode, day, select, manifest)


# dag.test() in Airflow 3 runs only DAGs it can serialise from a DAG bundle, so each mode's DAG is
# written as a file into this home's own DAGs folder (never the project's dags/). "airflow DAG" must
# appear in the file for the DagBag's safe mode to read it.
DAG_FILE = """# airflow DAG written by benchmarks/bench_dbt_modes.py for one benchmark run
import datetime
import sys
from pathlib import Path

sys.path.insert(0, {repo!r})
from benchmarks.bench_dbt_modes import make_dag

bench_dag = make_dag({mode!r}, datetime.date.fromisoformat({day!r}), {select!r}, Path({manifest!r}))
"""


def write_dag_files(folder: Path, modes: list[str], day: dt.date, select: list[str] | None, manifest: Path) -> None:
    """One DAG file per Airflow-run mode in the benchmark's DAGs folder."""
    repo = str(Path(__file__).resolve().parents[1])
    folder.mkdir(parents=True, exist_ok=True)
    for mode in modes:
        text = DAG_FILE.format(repo=repo, mode=mode, day=day.isoformat(), select=select, manifest=str(manifest))
        (folder / f"bench_dbt_{mode}.py").write_text(text)


def dbt_invocations(mode: str, dag: Any) -> int:
    """dbt commands one run starts: one for the single task and WATCHER's producer; one per task for LOCAL."""
    if mode == "noop":
        return 0
    if mode == "task":
        return 1
    if mode == "watcher":
        return sum(1 for task in dag.tasks if "producer" in task.task_id)
    return len(dag.tasks)


def time_dag(mode: str, bag: Any) -> Timing:
    """Run one mode's parsed DAG with `dag.test()` from a cold dbt parse; report its state and wall time."""
    from cosmos.settings import cache_dir

    dag = bag.get_dag(f"bench_dbt_{mode}")
    if dag is None:
        errors = "; ".join(str(error).strip().splitlines()[-1] for error in bag.import_errors.values())
        return Timing(LABELS[mode], None, None, None, f"could not render: {errors or 'no DAG in the file'}")
    forget_partial_parse()
    shutil.rmtree(Path(cache_dir) / dag.dag_id, ignore_errors=True)  # cosmos keeps its own partial parse there
    started = time.perf_counter()
    try:
        run = dag.test()
        state = str(getattr(run, "state", "unknown"))
        failed = [
            ti.task_id
            for ti in (run.get_task_instances() if run else [])
            if str(ti.state) not in {"success", "skipped"}
        ]
        outcome = state if not failed else f"{state}; not successful: {', '.join(sorted(failed)[:5])}"
    except Exception as err:  # a benchmark reports why a mode could not run instead of stopping
        traceback.print_exc()
        outcome = f"could not run under dag.test(): {type(err).__name__}: {str(err).splitlines()[0][:200]}"
    return Timing(LABELS[mode], dbt_invocations(mode, dag), len(dag.tasks), time.perf_counter() - started, outcome)


def connect_dbt_env() -> None:
    """Put the ARREARS_DBT_* connection variables profiles.yml reads into this process (cosmos runs dbt here)."""
    from arrears.transform.invoke import connection_env
    from arrears.warehouse import warehouse_url

    os.environ.update(connection_env(warehouse_url()))


def print_table(timings: list[Timing], parse_seconds: dict[str, float]) -> None:
    """The figures as a Markdown table; ratio to the mean of the plain runs."""
    plain = [t.seconds for t in timings if t.mode == LABELS["plain"] and t.seconds is not None and "ok" in t.outcome]
    baseline = statistics.mean(plain) if plain else None
    print("| mode | dbt invocations | Airflow tasks | seconds | ratio to plain | outcome |")
    print("|---|---:|---:|---:|---:|---|")
    for t in timings:
        seconds = "" if t.seconds is None else f"{t.seconds:.1f}"
        ratio = "" if t.seconds is None or not baseline else f"{t.seconds / baseline:.2f}x"
        invocations = "" if t.invocations is None else str(t.invocations)
        tasks = "" if t.tasks is None else str(t.tasks)
        print(f"| {t.mode} | {invocations} | {tasks} | {seconds} | {ratio} | {t.outcome} |")
    if baseline:
        print(f"\nBar (issue 8): <= {BAR}x the plain build = {baseline * BAR:.1f} s (plain mean {baseline:.1f} s).")
    for name, parse in sorted(parse_seconds.items()):
        print(f"DAG file parse time, {name}: {parse:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=300)
    parser.add_argument("--days", type=int, default=2, help="deliveries, each built once untimed; the last is timed")
    parser.add_argument("--select", nargs="*", help="dbt selection (default: the whole project, as a night builds)")
    parser.add_argument("--modes", default="plain,task,local,watcher", help="comma-separated subset")
    parser.add_argument("--home", help="use this ARREARS_HOME (default: a temporary one, removed afterwards)")
    parser.add_argument("--reuse", action="store_true", help="--home is already prepared by an earlier run")
    args = parser.parse_args()
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]

    with tempfile.TemporaryDirectory(prefix="bench_dbt_modes_") as scratch:
        home = Path(args.home or scratch).resolve()
        os.environ["ARREARS_HOME"] = str(home)
        # Airflow and cosmos read their settings at import: this home's metadata DB, DAGs folder and
        # cosmos cache; no usage metrics sent (an unreachable endpoint costs each cosmos task a timeout).
        dags_folder = home / "bench_dags"
        os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags_folder)
        os.environ["AIRFLOW__COSMOS__CACHE_DIR"] = str(home / "cosmos_cache")
        os.environ["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] = "False"
        from arrears.orchestration.airflow_env import ensure_airflow_db
        from arrears.settings import paths
        from arrears.transform import compile_manifest
        from arrears.warehouse import embedded

        ensure_airflow_db()
        timings: list[Timing] = []
        parse_seconds: dict[str, float] = {}
        try:
            day = START + dt.timedelta(days=args.days - 1) if args.reuse else prepare_home(args.loans, args.days)
            connect_dbt_env()
            manifest = compile_manifest()
            nodes = json.loads(manifest.read_text())["nodes"].values()
            materialised = sum(1 for node in nodes if node["resource_type"] in {"model", "seed", "snapshot"})
            selection = " ".join(args.select) if args.select else "whole project"
            print(f"# measured {day}; selection: {selection}; {materialised} models/seeds in the project", flush=True)
            dag_modes = [mode for mode in DAG_MODES if mode in modes]
            write_dag_files(dags_folder, ["noop", *dag_modes], day, args.select, manifest)
            if "plain" in modes:
                timings.append(time_plain(day, args.select))
            if dag_modes:
                from airflow.dag_processing.dagbag import DagBag

                bag = DagBag(dag_folder=str(dags_folder))
                parse_seconds = {Path(stat.file).stem: stat.duration.total_seconds() for stat in bag.dagbag_stats}
                time_dag("noop", bag)  # dag.test()'s one-off start-up, so the first mode is not charged for it
                timings += [time_dag(mode, bag) for mode in ["noop", *dag_modes]]
            if "plain" in modes and dag_modes:
                timings.append(time_plain(day, args.select))
        finally:
            if not args.home:
                embedded.stop(paths())  # the throw-away home's embedded PostgreSQL
    print_table(timings, parse_seconds)


if __name__ == "__main__":
    main()
