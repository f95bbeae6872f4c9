"""Lint the dbt project's layering and documentation with dbt-score (the last step of `make lint`).

    python scripts/lint_dbt_layers.py [--project-dir dbt_project]

Parses the project (`dbt parse`: no warehouse needed) into a throw-away target folder, then runs
dbt-score with the rules and thresholds of pyproject.toml ([tool.dbt-score]: dbt-score's defaults
plus dbt_project/score_rules). Exits non-zero when the project scores under 9.5 or any model,
source, seed, exposure or macro breaks a critical rule (a backward ref, an undocumented macro, a
published mart without owner). docs/decisions/019 says why dbt-score.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project-dir", type=Path, default=REPO / "dbt_project")
    args = parser.parse_args()
    project = args.project_dir.resolve()
    with tempfile.TemporaryDirectory(prefix="arrears-dbt-lint-") as target:
        parse = [str(BIN / "dbt"), "parse", "--quiet", "--no-partial-parse"]
        parse += ["--project-dir", str(project), "--profiles-dir", str(project)]
        parse += ["--target-path", target, "--log-path", target]
        parsed = subprocess.run(parse, check=False)
        if parsed.returncode != 0:
            print(f"dbt parse of {project} failed: see the lines above", file=sys.stderr)
            return parsed.returncode
        # From the repository root: dbt-score reads pyproject.toml and imports dbt_project.score_rules there.
        lint = [str(BIN / "dbt-score"), "lint", "--manifest", str(Path(target) / "manifest.json")]
        return subprocess.run(lint, cwd=REPO, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
