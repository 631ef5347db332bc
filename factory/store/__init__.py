"""Snapshots and the store: ids, Parquet writing, locks, cards, lineage, the models registry and the executors that run shards.

May import: factory.errors/settings/progress/config_io and schemas; nothing else of the project."""

from factory.store.snapshot import Snapshot  # noqa: F401
from factory.store.store import SnapshotBuild, Store  # noqa: F401
