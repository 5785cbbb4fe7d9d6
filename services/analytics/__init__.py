"""The analytics path: a DuckDB snapshot of the SQL data, read through a per-request `Warehouse`."""
