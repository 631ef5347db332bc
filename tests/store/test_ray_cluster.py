"""Ray across nodes (``ray.cluster_utils.Cluster``: a head and three worker nodes on this machine)
over the S3 server: shards run on any node and write straight to the object store; a node killed
mid-run loses nothing, and the snapshot equals a single-process run (same id, same rows)."""

from __future__ import annotations

import os
import threading
import time

import pytest

ray = pytest.importorskip("ray", reason="multi-node tests need Ray: pip install 'r1-factory[ray]'")

from factory import api  # noqa: E402
from factory.api.build import BuildOptions, run_build  # noqa: E402
from factory.generate.generation import GenerateConfig  # noqa: E402
from factory.store import executors  # noqa: E402
from factory.store.fsio import filesystem  # noqa: E402
from factory.store.store import Store  # noqa: E402
from tests.support.paths import ROOT  # noqa: E402
from tests.support.ray_tasks import StallingGenerationTask  # noqa: E402
from tests.support.s3_server import bucket, s3_server  # noqa: E402, F401

CFG = GenerateConfig(samples_per_prompt=2, prompts_per_shard=8, backend_options={"wrong_rate": 0.25})
KEY = [("problem_id", "ascending"), ("sample_idx", "ascending")]


@pytest.fixture(scope="module")
def cluster(s3_server):  # noqa: F811 - the nodes inherit the S3 endpoint and credentials from the env
    from ray.cluster_utils import Cluster

    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), saved) if p)  # workers import tests.support
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    nodes = [c.add_node(num_cpus=1) for _ in range(3)]
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False, configure_logging=False)
    yield c, nodes
    ray.shutdown()
    c.shutdown()
    if saved is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = saved


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FACTORY_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def rows_of(snap):
    return snap.to_arrow().drop_columns(["latency_s"]).sort_by(KEY)


def must_not_run_here(*args, **kwargs):
    raise AssertionError("a shard ran in the driver, not on a Ray node")


def kill_the_node_of_the_stalled_shard(cluster, nodes, marker_url, killed):
    fs, path = filesystem(marker_url)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        fs.invalidate_cache()
        if fs.exists(path):
            node_id = fs.cat_file(path).decode()
            (victim,) = [n for n in nodes if n.node_id == node_id]
            cluster.remove_node(victim, allow_graceful=False)
            killed.append(node_id)
            return
        time.sleep(0.1)


def test_shards_on_three_nodes_survive_a_killed_node(cluster, bucket, cache, tmp_path, monkeypatch):  # noqa: F811
    c, nodes = cluster
    local = Store(tmp_path / "local")
    run_build(local, "problems", {"n": 96})
    reference = api.generate(local, "problems", CFG).snapshot  # one process, one backend
    local_scored = api.score(local, reference.ref, options=BuildOptions(workers=1)).snapshot
    judge = {"only_unverified": False, "prompts_per_shard": 32}
    local_judged = run_build(local, "judged", judge, parents={"scored": local_scored.ref}).snapshot

    s3 = Store(f"s3://{bucket}/ray")
    run_build(s3, "problems", {"n": 96})
    marker = f"s3://{bucket}/markers/stalled"
    import pipelines.rollouts as rollouts_builder

    monkeypatch.setattr(rollouts_builder, "GenerationTask",
                        lambda *a, **k: StallingGenerationTask(*a, **k, stall_shard=1, marker_url=marker))
    monkeypatch.setattr(executors, "run_local", must_not_run_here)
    killed: list[str] = []
    killer = threading.Thread(target=kill_the_node_of_the_stalled_shard, args=(c, nodes, marker, killed))
    killer.start()
    opts = BuildOptions(executor="ray", executor_options={"num_workers": 2, "address": c.address})
    snap = api.generate(s3, "problems", CFG, options=opts).snapshot
    killer.join()
    assert len(killed) == 1  # a node died with a shard in flight
    assert snap.id == reference.id and snap.num_rows == reference.num_rows == 192
    assert rows_of(snap).equals(rows_of(reference))
    assert not list(cache.rglob("*.parquet"))  # nothing went through a local folder: no shared filesystem

    # scoring shards run on the cluster too, reading and writing the object store
    scored = api.score(s3, snap.ref, options=opts).snapshot
    assert scored.id == local_scored.id
    assert scored.to_arrow().sort_by(KEY).column("reward_accuracy").equals(
        local_scored.to_arrow().sort_by(KEY).column("reward_accuracy"))

    # and so do judging shards (the scripted judge, on every row)
    judged = run_build(s3, "judged", judge, parents={"scored": scored.ref}, options=opts).snapshot
    assert judged.id == local_judged.id and judged.num_rows == local_judged.num_rows > 0
    assert judged.manifest["synthetic"] is True
