"""SQL over the store: the DuckDB catalog, `factory sql`, dbt-style SQL models with ref(), and SQL filters.

May import: factory.store and the core modules."""
