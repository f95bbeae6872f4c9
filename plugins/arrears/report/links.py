"""Links from the report to the other places a reader may want next: dbt docs, GX Data Docs, Airflow."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from arrears.settings import NIGHTLY_DAG_CHAIN, Paths


def _relative_href(target: Path, report_dir: Path) -> str:
    """A link relative to the report, so the home folder can be copied elsewhere and the links still work."""
    return Path(os.path.relpath(target, report_dir)).as_posix()


def gx_data_docs_index(gx_dir: Path) -> Path | None:
    """The Data Docs index.html under the GX folder: the shallowest one, preferring a `data_docs` site."""
    if not gx_dir.is_dir():
        return None
    candidates = sorted(
        gx_dir.rglob("index.html"),
        key=lambda path: ("data_docs" not in path.parts, len(path.parts), str(path)),
    )
    return candidates[0] if candidates else None


def report_links(home: Paths, report_dir: Path, airflow_url: str) -> dict[str, Any]:
    """Each link with whether its target exists now (a missing one is shown, marked as not built yet)."""
    dbt_index = home.dbt_target / "index.html"
    gx_index = gx_data_docs_index(home.gx_dir)
    return {
        "dbt_docs": {
            "href": _relative_href(dbt_index, report_dir),
            "available": dbt_index.is_file(),
        },
        "gx_data_docs": {
            "href": _relative_href(gx_index, report_dir) if gx_index else None,
            "available": gx_index is not None,
        },
        "airflow": [{"dag_id": dag_id, "href": f"{airflow_url}/dags/{dag_id}"} for dag_id in NIGHTLY_DAG_CHAIN],
    }
