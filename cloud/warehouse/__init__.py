"""Warehouse adapters: DuckDB file (default) and BigQuery, over ``schemas/warehouse``."""
