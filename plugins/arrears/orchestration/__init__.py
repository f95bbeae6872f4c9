"""Glue between Airflow and the arrears functions: dates, failure policy, the in-process DAG run."""
