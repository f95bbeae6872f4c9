"""The parsed dbt manifest, for tools that read the project without running dbt (the cosmos benchmark)."""

from __future__ import annotations

import shutil
from pathlib import Path

from arrears.settings import paths
from arrears.transform.invoke import DbtInvocationError, dbt_invoke


def manifest_path() -> Path:
    """Where compile_manifest() leaves manifest.json: a stable path under $ARREARS_HOME/dbt/."""
    return paths().home / "dbt" / "manifest" / "manifest.json"


def compile_manifest() -> Path:
    """Run `dbt parse` and copy the manifest to manifest_path(); returns that path.

    The profile is still rendered, so the connection variables are set as for any dbt call.
    """
    from arrears.warehouse import warehouse_url

    # Parsing never connects: don't start the embedded warehouse just to render the profile.
    result = dbt_invoke(["parse"], url=warehouse_url(start=False))
    if not result.success:
        raise DbtInvocationError("dbt parse failed: see the dbt log under $ARREARS_HOME/dbt/logs")
    produced = paths().dbt_target / "manifest.json"
    destination = manifest_path()
    destination.parent.mkdir(parents=True, exist_ok=True)
    # Copy to a temporary name then rename, so a reader never sees a half-written manifest.
    partial = destination.with_suffix(".json.partial")
    shutil.copyfile(produced, partial)
    partial.replace(destination)
    return destination
