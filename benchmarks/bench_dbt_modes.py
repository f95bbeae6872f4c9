"""dbt execution mode in Airflow: one `dbt build` vs astronomer-cosmos per-model tasks, same date and selection.

    python -m benchmarks.bench_dbt_modes [--loans 300] [--days 2] [--select PATTERN ...] [--modes plain,local,watcher]

Issue 8's bar: the dbt part of a night may cost at most 1.2x a plain `dbt build` of the same
selection, with every model's status still visible. In a throw-away $ARREARS_HOME (its own embedded
PostgreSQL and Airflow metadata DB) this script generates and ingests a small portfolio, builds every
night but the last once (so seeds, incremental tables and dbt's partial-parse cache exist), then times
for the LAST business date and the same selection:

- plain:   `arrears.transform.build(D, select=...)`: one in-process `dbt build` (what the DAG runs now);
- local:   a cosmos `DbtDag`, ExecutionMode.LOCAL, LoadMode.DBT_MANIFEST (manifest from
           `compile_manifest()`), TestBehavior.BUILD (one `dbt build` of each node with its tests: the
           fewest invocations LOCAL can do), in-process dbtRunner (no interpreter start per task), via `dag.test()`;
- watcher: the same DAG in ExecutionMode.WATCHER (one producer `dbt build` + one consumer sensor per node).

`plain` runs first and again last, so a change in machine load between the modes shows up; the ratio
uses the mean of the two. Prints a Markdown table: mode, dbt invocations, Airflow tasks, seconds, ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
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


@dataclass
class Timing:
    """One measured run of a mode."""

    mode: str
    invocations: int | None
    tasks: int | None
    seconds: float | None
    outcome: str


def prepare_home(loans: int, days: int) -> dt.date:
    """Generate and ingest `days` deliveries, build all but the last; returns the last (measured) date."""
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
        if day < last:
            # Warm-up, untimed: seeds, incremental tables, dbt's partial-parse file. A failing node (the
            # project is being extended) is reported, not fatal: the timed runs say how they ended.
            try:
                print(f"# warm-up {build(day).summary()}", flush=True)
            except BuildFailed as failed:
                print(f"# warm-up {failed.result.summary()} ({failed})", flush=True)
        day += dt.timedelta(days=1)
    return last


def time_plain(day: dt.date, select: list[str] | None) -> Timing:
    """Mode (a): one in-process `dbt build` through the runner the nightly uses."""
    from arrears.transform import BuildFailed, build

    started = time.perf_counter()
    try:
        result = build(day, select=select)
        outcome = f"ok, {len(result.nodes)} nodes"
    except BuildFailed as failed:
        outcome = f"failed: {len(failed.result.failed_nodes)} nodes"
    return Timing("plain dbt build", 1, 1, time.perf_counter() - started, outcome)


def cosmos_dag(mode: str, day: dt.date, select: list[str] | None, manifest: Path) -> Any:
    """A cosmos DbtDag over the project, rendered from the compiled manifest (no dbt at parse time).

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
    )
    if mode == "watcher":
        run_consumers_after_producer(dag)
    return dag


def run_consumers_after_producer(dag: Any) -> None:
    """Let WATCHER run under dag.test(): the root consumers wait for the producer to finish.

    Cosmos gives the root consumer sensors trigger_rule "always" so that, on a real scheduler, they
    start beside the producer and show each model as it completes. dag.test() runs one task at a
    time and runs a deferred sensor's trigger inline until it fires, so a consumer picked before the
    producer waits for XCom that nobody will write until its timeout. With "all_done" the producer
    runs first and each consumer then reads its node's status: the same dbt work, serialised.
    """
    producer = next(task for task in dag.tasks if "producer" in task.task_id)
    for task_id in producer.downstream_task_ids:
        dag.get_task(task_id).trigger_rule = "all_done"


# dag.test() in Airflow 3 runs only DAGs it can serialise from a DAG bundle, so each mode's DAG is
# written as a file into this home's own DAGs folder (never the project's dags/). "airflow DAG" must
# appear in the file for the DagBag's safe mode to read it.
DAG_FILE = """# airflow DAG written by benchmarks/bench_dbt_modes.py for one benchmark run
import datetime
import sys
from pathlib import Path

sys.path.insert(0, {repo!r})
from benchmarks.bench_dbt_modes import cosmos_dag

bench_dag = cosmos_dag({mode!r}, datetime.date.fromisoformat({day!r}), {select!r}, Path({manifest!r}))
"""


def write_dag_files(folder: Path, modes: list[str], day: dt.date, select: list[str] | None, manifest: Path) -> None:
    """One DAG file per cosmos mode in the benchmark's DAGs folder."""
    repo = str(Path(__file__).resolve().parents[1])
    folder.mkdir(parents=True, exist_ok=True)
    for mode in modes:
        text = DAG_FILE.format(repo=repo, mode=mode, day=day.isoformat(), select=select, manifest=str(manifest))
        (folder / f"bench_dbt_{mode}.py").write_text(text)


def dbt_invocations(mode: str, dag: Any) -> int:
    """dbt commands one run of the DAG starts: every LOCAL task runs one; WATCHER runs only its producer."""
    if mode == "watcher":
        return sum(1 for task in dag.tasks if "producer" in task.task_id)
    return len(dag.tasks)


def time_cosmos(mode: str, bag: Any) -> Timing:
    """Modes (b) and (c): run the parsed DAG with `dag.test()`, report its state and wall time."""
    label = {"local": "cosmos LOCAL (per-node tasks)", "watcher": "cosmos WATCHER"}[mode]
    dag = bag.get_dag(f"bench_dbt_{mode}")
    if dag is None:
        errors = "; ".join(str(error).strip().splitlines()[-1] for error in bag.import_errors.values())
        return Timing(label, None, None, None, f"could not render: {errors or 'no DAG in the file'}")
    tasks = len(dag.tasks)
    invocations = dbt_invocations(mode, dag)
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
    return Timing(label, invocations, tasks, time.perf_counter() - started, outcome)


def connect_dbt_env() -> None:
    """Put the ARREARS_DBT_* connection variables profiles.yml reads into this process (cosmos runs dbt here)."""
    from arrears.transform.invoke import connection_env
    from arrears.warehouse import warehouse_url

    os.environ.update(connection_env(warehouse_url()))


def print_table(timings: list[Timing]) -> None:
    """The figures as a Markdown table; ratio to the mean of the plain runs."""
    plain = [t.seconds for t in timings if t.mode == "plain dbt build" and t.seconds is not None and "ok" in t.outcome]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=300)
    parser.add_argument("--days", type=int, default=2, help="deliveries; all but the last are built untimed")
    parser.add_argument("--select", nargs="*", help="dbt selection (default: the whole project, as a night builds)")
    parser.add_argument("--modes", default="plain,local,watcher", help="comma-separated subset of plain,local,watcher")
    parser.add_argument("--home", help="use this ARREARS_HOME (default: a temporary one, removed afterwards)")
    parser.add_argument("--reuse", action="store_true", help="--home is already prepared by an earlier run")
    args = parser.parse_args()
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]

    with tempfile.TemporaryDirectory(prefix="bench_dbt_modes_") as scratch:
        home = Path(args.home or scratch).resolve()
        os.environ["ARREARS_HOME"] = str(home)
        # Airflow reads its settings at import: point it at this home's metadata DB and DAGs folder first.
        dags_folder = home / "bench_dags"
        os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags_folder)
        from arrears.orchestration.airflow_env import ensure_airflow_db
        from arrears.settings import paths
        from arrears.transform import compile_manifest
        from arrears.warehouse import embedded

        ensure_airflow_db()
        try:
            day = START + dt.timedelta(days=args.days - 1) if args.reuse else prepare_home(args.loans, args.days)
            connect_dbt_env()
            manifest = compile_manifest()
            node_count = sum(
                1
                for node in json.loads(manifest.read_text())["nodes"].values()
                if node["resource_type"] in {"model", "seed", "snapshot"}
            )
            print(
                f"# measured business date {day}; selection {args.select or 'whole project'}; {node_count} "
                "models/seeds in the manifest",
                flush=True,
            )
            # Untimed: `dbt parse` above used the default vars, and dbt re-parses the whole project when the
            # vars change; one build of the measured date first, so every timed run starts equally warm.
            time_plain(day, args.select)
            parse_seconds: dict[str, float] = {}
            cosmos_modes = [mode for mode in ("local", "watcher") if mode in modes]
            write_dag_files(dags_folder, cosmos_modes, day, args.select, manifest)
            timings: list[Timing] = []
            if "plain" in modes:
                timings.append(time_plain(day, args.select))
            if cosmos_modes:
                from airflow.dag_processing.dagbag import DagBag

                bag = DagBag(dag_folder=str(dags_folder))
                parse_seconds = {Path(stat.file).stem: stat.duration.total_seconds() for stat in bag.dagbag_stats}
                for mode in cosmos_modes:
                    timings.append(time_cosmos(mode, bag))
            if "plain" in modes and len(modes) > 1:
                timings.append(time_plain(day, args.select))
        finally:
            if not args.home:
                embedded.stop(paths())  # the throw-away home's embedded PostgreSQL
    print_table(timings)
    for name, seconds in sorted(parse_seconds.items()):
        print(f"DAG file parse, {name} (LoadMode.DBT_MANIFEST, no dbt run): {seconds:.2f} s")


if __name__ == "__main__":
    main()
