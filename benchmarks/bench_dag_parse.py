"""DAG parse time: what the dag-processor pays every 30 s per file. Prints one line per file."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from arrears.orchestration.airflow_env import DAGS_DIR, airflow_environment
from arrears.settings import Paths

SCRIPT = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={dags!r})
print(json.dumps({{s.file: s.duration.total_seconds() for s in bag.dagbag_stats}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as home:
        env = {**airflow_environment(Paths(Path(home))), "PATH": "/usr/bin:/bin"}
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, "-c", SCRIPT.format(dags=str(DAGS_DIR))], env=env, capture_output=True, text=True
            )
            for file, seconds in json.loads(out.stdout.strip().splitlines()[-1]).items():
                samples.setdefault(file, []).append(seconds)
    print("| DAG file | median parse (ms) | max (ms) |")
    print("|---|---:|---:|")
    for file, values in sorted(samples.items()):
        print(f"| {file} | {statistics.median(values) * 1000:.0f} | {max(values) * 1000:.0f} |")


if __name__ == "__main__":
    main()
