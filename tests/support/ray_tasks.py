"""Shard tasks for the multi-node Ray tests (importable by Ray workers, which unpickle them)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from factory.generate.generation import GenerationTask


@dataclass
class StallingGenerationTask(GenerationTask):
    """Generation whose shard ``stall_shard`` hangs on its first attempt, so a test can kill the
    node it runs on while it is in flight. The attempt announces itself with a marker object
    holding its node id; later attempts (on another node) find the marker and run normally."""

    stall_shard: int = -1
    marker_url: str = ""

    def __call__(self, shard: int):
        if shard == self.stall_shard:
            import ray

            from factory.store.fsio import filesystem
            from factory.store.object_store import put_exclusive

            fs, root = filesystem(self.marker_url)
            if put_exclusive(fs, root, ray.get_runtime_context().get_node_id().encode()):
                deadline = time.monotonic() + 300  # a test that failed to kill us still ends
                while time.monotonic() < deadline:
                    time.sleep(0.1)
                raise RuntimeError("the stalled shard was never interrupted")
        return super().__call__(shard)
