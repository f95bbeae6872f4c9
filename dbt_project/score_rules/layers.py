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
