-- Collection actions delivered up to the business date, each once (its first delivery).
{{ staged_collection_actions() }}
