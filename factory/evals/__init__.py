"""Evaluation: the benchmark registry (R1 eval sets as sources) and the metrics (pass@k, maj@k).

May import: factory.rewards, factory.sources and the core modules."""
