"""Curation of rows: exact and near dedup (MinHash), decontamination against eval sets, SFT formatting, the human review file.

May import: factory.evals, factory.sources, factory.rewards, factory.store and the core modules."""
