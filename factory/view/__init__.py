"""`factory view`: a local, read-only web app over the store (snapshots, lineage, SQL, rollouts, plots).

Orchestration level, beside factory.api: it may import factory.sql and factory.store; nothing imports it
except the CLI."""
