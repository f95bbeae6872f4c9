"""dbt-score rules of arrears: the dbt layers point one way (docs/architecture.md, decision 019)."""
