"""The layering of the dbt project, as dbt-score rules run by `make lint` (docs/decisions/019).

No `from __future__ import annotations`: dbt-score reads the rule functions' annotations as types.

The layers, in the order data flows: staging (views over sources) -> stored (incrementally merged
copies) -> intermediate (rules, scope, state) -> marts (published, contracted). A model reads its own
layer or an earlier one; only staging and stored read sources; staging reads nothing but sources
and seeds (reference data). Every rule here is critical: one violation fails the lint.
"""

from dbt_score import Model, RuleViolation, Severity, rule

LAYERS = ("staging", "stored", "intermediate", "marts")
READS_SOURCES = ("staging", "stored")


def layer_of(model: Model) -> str | None:
    """The layer of a model: the folder under models/ it lives in (None outside the four)."""
    parts = model.original_file_path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "models" and parts[1] in LAYERS else None


@rule(severity=Severity.CRITICAL)
def model_is_in_a_layer(model: Model) -> RuleViolation | None:
    """A model lives in one of the layers' folders: models/staging, stored, intermediate or marts."""
    if layer_of(model) is None:
        return RuleViolation(message=f"{model.original_file_path} is in none of models/{{{','.join(LAYERS)}}}/.")
    return None


@rule(severity=Severity.CRITICAL)
def staging_reads_only_sources(model: Model) -> RuleViolation | None:
    """A staging model reads sources (and seeds) only: never another model."""
    if layer_of(model) != "staging":
        return None
    models_read = sorted(parent.name for parent in model.parents if isinstance(parent, Model))
    if models_read:
        return RuleViolation(message=f"staging reads models: {', '.join(models_read)}.")
    return None


@rule(severity=Severity.CRITICAL)
def only_staging_and_stored_read_sources(model: Model) -> RuleViolation | None:
    """Only staging and stored models read sources; later layers read the staged or stored models."""
    layer = layer_of(model)
    if layer is None or layer in READS_SOURCES:
        return None
    sources_read = sorted(node for node in model.depends_on.get("nodes", []) if node.startswith("source."))
    if sources_read:
        return RuleViolation(message=f"{layer} reads sources: {', '.join(sources_read)}.")
    return None


@rule(severity=Severity.CRITICAL)
def no_model_reads_a_later_layer(model: Model) -> RuleViolation | None:
    """A model reads its own layer or an earlier one (staging < stored < intermediate < marts)."""
    layer = layer_of(model)
    if layer is None:
        return None
    later = sorted(
        f"{parent.name} ({parent_layer})"
        for parent in model.parents
        if isinstance(parent, Model)
        and (parent_layer := layer_of(parent)) is not None
        and LAYERS.index(parent_layer) > LAYERS.index(layer)
    )
    if later:
        return RuleViolation(message=f"{layer} reads a later layer: {', '.join(later)}.")
    return None


@rule(severity=Severity.CRITICAL)
def published_mart_has_an_owner(model: Model) -> RuleViolation | None:
    """Every published mart names its owner (meta.owner): who downstream teams ask (business rules §8)."""
    if layer_of(model) == "marts" and not model.meta.get("owner"):
        return RuleViolation(message="published mart without meta.owner.")
    return None


def _unique_indexed_columns(model: Model) -> set[str]:
    """The columns a single-column unique index of the model's `indexes` config holds unique (PostgreSQL)."""
    indexes = model.config.get("indexes") or []
    return {index["columns"][0] for index in indexes if index.get("unique") and len(index["columns"]) == 1}


@rule(severity=Severity.CRITICAL)
def no_data_test_re_proves_the_table_ddl(model: Model) -> RuleViolation | None:
    """On PostgreSQL a contracted table's column is declared NOT NULL, and a unique index refuses a duplicate: the
    data test that proves it again is `not_null_unless_enforced` / `unique_unless_indexed` (decision 040)."""
    if model.config.get("materialized") not in ("table", "incremental"):
        return None
    contracted = bool((model.config.get("contract") or {}).get("enforced"))
    re_proved = []
    for column in model.columns:
        for test in column.tests:
            # A not_null test with its own condition (`where ... and x > 0`) proves more than the column's DDL can.
            where = str(test._raw_values.get("config", {}).get("where") or "")
            if test.type == "not_null" and contracted and " and " not in where:
                re_proved.append(f"{column.name} (not_null: declare constraints: [{{type: not_null}}] instead)")
            if test.type == "unique" and column.name in _unique_indexed_columns(model):
                re_proved.append(f"{column.name} (unique: its unique index holds it; use unique_unless_indexed)")
    if re_proved:
        return RuleViolation(message=f"a data test re-proves the table's DDL: {', '.join(re_proved)}.")
    return None
