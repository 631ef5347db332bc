"""Stores on an object store, against a real S3 API server on 127.0.0.1: build, read, SQL, export,
publish, kill -9 and resume, half-written snapshots, concurrent builds, credentials and bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from factory import api
from factory.api.build import BuildOptions, run_build
from factory.cli.app import app
from factory.generate.generation import GenerateConfig
from factory.store.store import Store
from tests.cli.test_publish import fake_hub  # noqa: F401 (fixture)
from tests.support.paths import ROOT
from tests.support.s3_server import ACCESS_KEY, SECRET_KEY, all_objects, bucket, s3_server  # noqa: F401

CFG = GenerateConfig(samples_per_prompt=2, prompts_per_shard=8, backend_options={"wrong_rate": 0.25})
ONE = BuildOptions(workers=1)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FACTORY_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    return tmp_path / "cache"


def _rows(snap):
    return snap.to_arrow().drop_columns([c for c in ("latency_s",) if c in snap.to_arrow().column_names]) \
        .sort_by([("problem_id", "ascending")] + ([("sample_idx", "ascending")] if snap.kind != "problems" else []))


def test_build_read_sql_export_publish_on_s3(bucket, cache, tmp_path, fake_hub, monkeypatch):  # noqa: F811
    url = f"s3://{bucket}/stores/main"
    s3, local = Store(url), Store(tmp_path / "local")
    for store in (s3, local):
        run_build(store, "problems", {"n": 40})
        rollouts = api.generate(store, "problems", CFG).snapshot
        api.score(store, rollouts.ref, options=ONE)
    for name in ("problems", "rollouts", "scored"):  # the same ids and rows wherever the store lives
        assert s3.get(name).ref == local.get(name).ref
        assert _rows(s3.get(name)).equals(_rows(local.get(name)))
    scored = s3.get("scored")
    assert scored.path.startswith(f"s3://{bucket}/stores/main/scored/")
    assert scored.scan().select("reward_accuracy").collect().height == 80  # Polars
    assert scored.load_dataset()["problem_id"][:1] == [scored.to_arrow().column("problem_id")[0].as_py()]  # datasets

    cli = CliRunner()
    res = cli.invoke(app, ["--store", url, "sql", "select count(*) as n from scored join problems using (problem_id)"])
    assert res.exit_code == 0, res.output
    assert "80" in res.output
    res = cli.invoke(app, ["--store", url, "ls"])
    assert res.exit_code == 0 and "scored" in res.output and "rollouts" in res.output
    res = cli.invoke(app, ["--store", url, "export", "rollouts", "--to", str(tmp_path / "exported")])
    assert res.exit_code == 0, res.output
    exported = json.loads((tmp_path / "exported" / "manifest.json").read_text())
    assert exported["id"] == s3.get("rollouts").id
    assert len(list((tmp_path / "exported" / "data").glob("*.parquet"))) == 5
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")  # the usual Hub login: never a flag
    api.publish(s3, "scored", "org/r1")
    assert {"README.md", "manifest.json"} <= set(fake_hub.files)
    assert not (cache / "stores").exists() or not list((cache / "stores").rglob("*.parquet"))  # nothing staged left


def test_a_half_written_snapshot_is_never_visible(bucket, cache):
    store = Store(f"s3://{bucket}/s")
    with store.begin("problems", "abcd01", kind=None) as sb:
        sb.write("train", (pa.RecordBatch.from_pydict({"x": list(range(i, i + 5))}) for i in range(0, 20, 5)))
        assert any(k.endswith(".parquet") for k in all_objects(bucket))  # parts are uploaded...
        assert Store(f"s3://{bucket}/s").list() == []  # ...but nothing is visible before the manifest
        snap = sb.commit(builder="t", builder_version="1")
    assert [s.ref for s in Store(f"s3://{bucket}/s").list()] == [snap.ref]
    # a manifest whose parts are not all there (a delete in progress, a lost object) hides the snapshot
    import boto3

    boto3.client("s3").delete_object(Bucket=bucket, Key=f"s/problems/abcd01/{snap.manifest['splits']['train']['files'][0]}")
    assert Store(f"s3://{bucket}/s").list() == []


SHARDED = textwrap.dedent(
    """
    import sys
    import pyarrow as pa
    from factory.store.store import Store

    def shard(k):
        print(f"shard {k}", flush=True)
        if k == int(sys.argv[2]):
            sys.stdin.readline()  # hold here, mid-shard, until the test kills us
        return [pa.RecordBatch.from_pydict({"x": list(range(k * 1000, (k + 1) * 1000))})]

    store = Store(sys.argv[1])
    with store.begin("big", "feed03", kind=None) as sb:
        sb.write_shards("train", 12, shard)
        snap = sb.commit(builder="t", builder_version="1")
    print("committed", snap.ref, flush=True)
    """
)


def _sharded(url, kill_after=None):
    proc = subprocess.Popen([sys.executable, "-c", SHARDED, url, str(-1 if kill_after is None else kill_after)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines = []
    for line in proc.stdout:
        lines.append(line.strip())
        if kill_after is not None and line.strip() == f"shard {kill_after}":
            os.kill(proc.pid, signal.SIGKILL)
            break
    err = proc.stderr.read()
    proc.wait()
    return proc.returncode, lines, err


def _part_etags(bucket, prefix):
    import boto3

    listing = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {o["Key"]: o["ETag"] + str(o["LastModified"]) for o in listing if o["Key"].endswith(".parquet")}


def test_kill9_mid_sharded_write_then_resume(bucket, cache):
    url = f"s3://{bucket}/k"
    rc, lines, _ = _sharded(url, kill_after=5)
    assert rc == -signal.SIGKILL
    assert Store(url).list() == []
    before = _part_etags(bucket, "k/big/feed03/data/")
    assert len(before) == 5  # shards 0-4 were uploaded whole; shard 5 never became an object
    rc, lines, err = _sharded(url)  # the dead writer's lease is stale at once: its pid is gone
    assert rc == 0, err
    assert lines[0] == "shard 5" and lines[-1] == "committed big@feed03"  # finished shards were skipped
    after = _part_etags(bucket, "k/big/feed03/data/")
    assert {k: after[k] for k in before} == before  # and never rewritten
    (snap,) = Store(url).list()
    xs = snap.to_arrow().column("x").to_pylist()
    assert snap.num_rows == 12_000 and sorted(xs) == list(range(12_000))


def test_two_concurrent_builds_of_one_snapshot(bucket, cache):
    url = f"s3://{bucket}/c"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", SHARDED, url, "-1"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=str(ROOT), env=env) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-500:] for o in outs]
    assert all(o[0].strip().endswith("committed big@feed03") for o in outs)
    shards_run = sum(o[0].count("shard ") for o in outs)
    assert shards_run == 12  # one wrote every shard; the other waited for its lease, then found it committed
    (snap,) = Store(url).list()
    assert sorted(snap.to_arrow().column("x").to_pylist()) == list(range(12_000))


def test_credentials_are_never_written(bucket, cache, tmp_path):
    url = f"s3://{bucket}/cred"
    log = tmp_path / "cli.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FACTORY_STORE": url}
    for cmd in (["build", "problems", "--set", "n=12", "--quiet"], ["--debug", "generate", "problems", "-n", "2"],
                ["sql", "select count(*) from rollouts"]):
        res = subprocess.run([sys.executable, "-m", "factory", *cmd], capture_output=True, text=True, cwd=str(ROOT),
                             env=env, timeout=300)
        assert res.returncode == 0, res.stderr
        with open(log, "a") as fh:
            fh.write(res.stdout + res.stderr)
    written = {k: v for k, v in all_objects(bucket).items()}
    assert any(k.endswith("manifest.json") for k in written) and any(k.endswith("README.md") for k in written)
    blobs = list(written.values()) + [log.read_bytes()]
    blobs += [p.read_bytes() for p in cache.rglob("*") if p.is_file()]
    for secret in (SECRET_KEY, ACCESS_KEY):
        assert not any(secret.encode() in b for b in blobs), f"{secret} was written somewhere"


@pytest.mark.parametrize("case", ["missing bucket", "unreachable endpoint"])
def test_bad_store_urls_fail_in_one_line_naming_the_url(bucket, cache, case):
    from tests.support.s3_server import free_port

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    url = f"s3://{bucket}-missing/x" if case == "missing bucket" else f"s3://{bucket}/x"
    if case == "unreachable endpoint":
        env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "factory", "--store", url, "build", "problems", "--set", "n=3"],
                         capture_output=True, text=True, cwd=str(ROOT), env=env, timeout=120)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and url in lines[0] and SECRET_KEY not in res.stderr, res.stderr
    assert ("does not exist" if case == "missing bucket" else "cannot be reached") in lines[0]
    assert time.monotonic() - start < 60
    assert not [k for k in all_objects(bucket) if k.startswith("x/")]  # nothing that looks like a snapshot


def test_refused_credentials_fail_in_one_line(tmp_path):
    """A server that checks signatures (moto with IAM auth on): keys it never issued are refused."""
    pytest.importorskip("moto.server")
    from tests.support.s3_server import free_port, s3_env, wait_for_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    try:
        env = {**os.environ, **s3_env(f"http://127.0.0.1:{port}"), "PYTHONPATH": str(ROOT),
               "FACTORY_CACHE": str(tmp_path / "cache")}
        url = "s3://some-bucket/x"
        wait_for_port(port)
        res = subprocess.run([sys.executable, "-m", "factory", "--store", url, "ls"], capture_output=True,
                             text=True, cwd=str(ROOT), env=env, timeout=120)
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 1 and len(lines) == 1, res.stderr
        assert url in lines[0] and "credentials were refused" in lines[0]
        assert SECRET_KEY not in res.stderr and ACCESS_KEY not in res.stderr
    finally:
        server.kill()
        server.wait()


def test_any_fsspec_filesystem_works(cache):
    """Not only S3: fsspec's in-memory filesystem goes through the same commit protocol."""
    import uuid

    url = f"memory://factory-{uuid.uuid4().hex[:8]}/store"
    store = Store(url)
    snap = run_build(store, "problems", {"n": 10}).snapshot
    assert snap.path.startswith("memory://") and [s.ref for s in Store(url).list()] == [snap.ref]
    from factory.sql import query as sqlmod

    assert sqlmod.query_rows(store, "select count(*) from problems")[1] == [(10,)]


def test_a_lease_blocks_while_live_and_is_replaced_once_expired(cache):
    import json as _json
    import uuid

    from factory.store.fsio import filesystem
    from factory.store.object_store import lease

    fs, root = filesystem(f"memory://lease-{uuid.uuid4().hex[:8]}")
    path = f"{root}/.locks/build-x@1.lock"
    with lease(fs, path) as held:
        assert held
        with lease(fs, path, blocking=False) as second:
            assert second is False  # one writer per snapshot
    assert not fs.exists(path)  # released
    # a holder on another machine that stopped renewing: its lease runs out, then it is replaced
    fs.pipe_file(path, _json.dumps({"owner": "gone", "where": "other-host/boot/1", "pid": 1,
                                    "expires": time.time() - 1}).encode())
    with lease(fs, path, blocking=False) as taken:
        assert taken
        assert _json.loads(fs.cat_file(path))["owner"] != "gone"
