-- stg_payments of the loans recomputed tonight only (stg_loans_to_recompute): what the delinquency
-- snapshot and the episodes read. The filter runs before the deduplication, so a night sorts the
-- payments of the loans that changed, not every payment ever delivered.
{{ staged_payments(filter=only_loans_to_recompute()) }}
