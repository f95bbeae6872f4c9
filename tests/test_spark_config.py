"""The Spark target is configuration (decision 029): the engine setting, the profile's targets, the ported macros."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from arrears.errors import ArrearsError
from tests.support.cli import REPO_ROOT, run_cli

DBT_PROJECT = REPO_ROOT / "dbt_project"


def test_the_engine_defaults_to_postgres_and_rejects_an_unknown_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from arrears.spark.session import engine

    monkeypatch.delenv("ARREARS_ENGINE", raising=False)
    assert engine() == "postgres"
    monkeypatch.setenv("ARREARS_ENGINE", "Spark")
    assert engine() == "spark"
    monkeypatch.setenv("ARREARS_ENGINE", "oracle")
    with pytest.raises(ArrearsError, match="ARREARS_ENGINE='oracle' is not one of postgres, spark"):
        engine()


def test_the_profile_has_a_session_target_and_a_thrift_target() -> None:
    profile = yaml.safe_load((DBT_PROJECT / "profiles.yml").read_text(encoding="utf-8"))["arrears"]
    assert "ARREARS_DBT_TARGET" in profile["target"] and "'warehouse'" in profile["target"]
    assert profile["outputs"]["spark"]["method"] == "session"
    assert profile["outputs"]["spark_thrift"]["method"] == "thrift"
    settings = profile["outputs"]["spark"]["server_side_parameters"]
    assert settings["spark.sql.session.timeZone"] == "UTC"
    assert settings["spark.sql.sources.partitionOverwriteMode"] == "DYNAMIC"


def test_the_spark_target_points_into_the_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from arrears.spark.session import dbt_environment, session_settings

    monkeypatch.setenv("ARREARS_HOME", str(tmp_path))
    monkeypatch.delenv("ARREARS_DBT_TARGET", raising=False)
    env = dbt_environment()
    assert env["ARREARS_DBT_TARGET"] == "spark"
    assert env["ARREARS_SPARK_WAREHOUSE"] == str(tmp_path / "spark" / "warehouse")
    assert str(tmp_path / "spark" / "metastore_db") in env["ARREARS_SPARK_METASTORE_URL"]
    assert session_settings()["spark.master"] == "local[2]"


def test_every_macro_not_ported_by_default_has_a_spark_body() -> None:
    """A dispatched macro whose default__ raises must have a spark__ twin, or the Spark build fails on it."""
    sql = "\n".join(path.read_text(encoding="utf-8") for path in (DBT_PROJECT / "macros").rglob("*.sql"))
    defaults = re.findall(r"\{% macro default__(\w+)\([^)]*\) -%\}(.*?)\{%- endmacro %\}", sql, flags=re.S)
    not_ported = {name for name, body in defaults if "arrears_not_ported" in body}
    assert len(not_ported) >= 8
    spark_bodies = set(re.findall(r"\{% macro spark__(\w+)\(", sql))
    assert not_ported <= spark_bodies, f"no spark__ body: {sorted(not_ported - spark_bodies)}"


def test_the_incremental_hooks_that_delete_have_a_spark_body() -> None:
    """Plain parquet has no DELETE: every dispatched hook whose default deletes must be ported."""
    sql = "\n".join(path.read_text(encoding="utf-8") for path in (DBT_PROJECT / "macros").rglob("*.sql"))
    defaults = re.findall(r"\{% macro default__(\w+)\([^)]*\) -%\}(.*?)\{%- endmacro %\}", sql, flags=re.S)
    deleting = {name for name, body in defaults if re.search(r"\bdelete from\b", body)}
    assert {"replace_business_date", "reset_unless_carried_forward", "record_night_built"} <= deleting
    spark_bodies = set(re.findall(r"\{% macro spark__(\w+)\(", sql))
    assert deleting <= spark_bodies, f"no spark__ body: {sorted(deleting - spark_bodies)}"
    models = "\n".join(path.read_text(encoding="utf-8") for path in (DBT_PROJECT / "models").rglob("*.sql"))
    assert not re.search(r"\bdelete from\b", models), "a model deletes directly: use delete_rows_where"


def test_an_export_of_a_spark_home_never_built_is_one_line(server_url: str, tmp_path: Path) -> None:
    """`arrears export` under ARREARS_ENGINE=spark on a home whose Spark warehouse was never built: one line,
    before Spark starts (the home's spark folder has no metastore)."""
    env = {"ARREARS_ENGINE": "spark", "ARREARS_HOME": str(tmp_path), "ARREARS_WAREHOUSE_URL": server_url}
    result = run_cli("export", "--date", "2026-11-02", env=env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("arrears: error: the Spark warehouse of this home")
    assert "no night was built on Spark" in result.stderr
