"""The Data Docs index, listing the latest results without loading each one as a GX object.

GX's DefaultSiteIndexBuilder links the latest `validation_results_limit` validation results, and to
show each one's pass/fail it loads every one of them from the results store into an
ExpectationSuiteValidationResult (every expectation result and its offending rows deserialised): a
month of nightly runs, 500 results, re-read on every run. The index needs three fields of each:
`success`, the batch's asset name and its batch kwargs/spec; this builder reads them from the stored
JSON. Same index page, same links, same limit.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from great_expectations.render.renderer.site_builder import FALSEY_YAML_STRINGS, DefaultSiteIndexBuilder
from great_expectations.render.util import resource_key_passes_run_name_filter


class ResultSummaryIndexBuilder(DefaultSiteIndexBuilder):
    """DefaultSiteIndexBuilder whose validation links read each stored result's JSON summary fields."""

    def _add_validations_to_index_links(self, index_links_dict: OrderedDict, site_keys: list[Any]) -> None:
        validations = self.site_section_builders_config.get("validations", "None")
        if not validations or validations in FALSEY_YAML_STRINGS:
            return
        run_name_filter = validations["run_name_filter"]
        backend = self.data_context.stores[self.source_stores.get("validations")].store_backend
        listed = [key for key in site_keys if resource_key_passes_run_name_filter(key, run_name_filter)]
        latest = sorted(listed, key=lambda key: key.run_id.run_time, reverse=True)
        for key in latest[: self.validation_results_limit] if self.validation_results_limit else latest:
            try:
                stored = json.loads(backend.get(key.to_tuple()))
            except Exception:  # noqa: BLE001 - a result that cannot be read is left out of the index, as GX does
                continue
            meta = stored.get("meta") or {}
            batch_kwargs, batch_spec = meta.get("batch_kwargs") or {}, meta.get("batch_spec") or {}
            asset = (
                batch_kwargs.get("data_asset_name")
                or batch_spec.get("data_asset_name")
                or (meta.get("active_batch_definition") or {}).get("data_asset_name")
            )
            self.add_resource_info_to_index_links_dict(
                index_links_dict=index_links_dict,
                expectation_suite_name=key.expectation_suite_identifier.name,
                section_name="validations",
                batch_identifier=key.batch_identifier,
                run_id=key.run_id,
                validation_success=stored.get("success"),
                run_time=key.run_id.run_time,
                run_name=key.run_id.run_name,
                asset_name=asset,
                batch_kwargs=batch_kwargs,
                batch_spec=batch_spec,
            )
