"""Model-call failures never become data: over the error bound nothing is published, a resume retries
only the error rows, a dead endpoint stops the run at once; against the fault-injecting server."""

from __future__ import annotations

import json
import re
import socket

import pytest
from typer.testing import CliRunner

from factory import api
from factory.api.build import BuildOptions
from factory.cli.app import app
from factory.generate.generation import GenerateConfig
from factory.generate.generation_errors import GenerationFailed
from tests.support.backend_fixtures import Faults, stub_server, tiny_hf_backend, tiny_lm_dir  # noqa: F401 (fixtures)

FAST = {"max_retries": 0, "backoff_base_s": 0.0, "timeout_s": 30.0}
CFG = GenerateConfig(backend="openai", model="tiny", template="r1_zero", samples_per_prompt=2, max_tokens=4,
                     prompts_per_shard=4, seed=1)


def problems_file(tmp_path, n: int = 10, failing: tuple[int, ...] = ()) -> str:
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(json.dumps({"problem_id": f"q{i}", "prompt": f"{'BROKEN ' if i in failing else ''}"
                                        f"What is {i} + 1?", "answer": str(i + 1)}) + "\n" for i in range(n)))
    return str(path)


def opts(url: str, **kw) -> BuildOptions:
    return BuildOptions(backend={"base_url": url, **FAST, **kw.pop("runtime", {})}, **kw)


def test_over_the_bound_nothing_is_published_and_a_resume_retries_only_error_rows(store, tmp_path, stub_server):
    problems = problems_file(tmp_path, failing=(2, 7, 8))
    stub_server.faults = Faults(fail_marker="BROKEN")
    with pytest.raises(GenerationFailed) as err:
        api.generate(store, problems, CFG, options=opts(stub_server.url))
    line = str(err.value)
    assert "6 of 20 rows (30%)" in line and stub_server.url in line and "injected 500" in line
    assert store.list("rollouts") == [] and "\n" not in line
    first_calls = len(stub_server.calls)

    stub_server.faults = Faults()  # the server is fixed: the rerun sends only the 3 failed prompts
    snap = api.generate(store, problems, CFG, options=opts(stub_server.url)).snapshot
    retried = stub_server.calls[first_calls:]
    assert sorted({re.search(r"What is (\d+) \+", c.body["prompt"]).group(1) for c in retried}) == ["2", "7", "8"]
    table = snap.to_arrow()
    assert table.num_rows == 20 and "error" not in table.column("finish_reason").to_pylist()
    assert snap.manifest["stats"]["error_rows"] == 0 and snap.manifest["stats"]["retried_error_rows"] == 6


def test_under_the_bound_the_snapshot_reports_its_error_rows(store, tmp_path, stub_server):
    stub_server.faults = Faults(fail_marker="BROKEN")
    snap = api.generate(store, problems_file(tmp_path, failing=(4,)), CFG,
                        options=opts(stub_server.url, max_error_share=0.2)).snapshot
    assert snap.manifest["stats"]["error_rows"] == 2 and snap.manifest["stats"]["error_share"] == 0.1
    assert "error_rows" in (snap.path / "README.md").read_text()
    shown = CliRunner().invoke(app, ["--store", str(store.root), "show", snap.ref])
    assert shown.exit_code == 0 and "error_rows" in shown.output


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_dead_endpoint_stops_the_run_after_a_few_refused_connections(store, tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    problems = problems_file(tmp_path, n=40)
    res = CliRunner().invoke(app, ["--store", str(store.root), "generate", problems, "--backend", "openai",
                                   "--model", "tiny", "-n", "2", "--max-tokens", "4", "--prompts-per-shard", "4",
                                   "--runtime", f"base_url={url}", "--runtime", "max_retries=6",
                                   "--runtime", "backoff_base_s=0", "--runtime", "max_concurrency=2", "--quiet"])
    assert res.exit_code == 1
    (line,) = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert "generation stopped" in line and url in line and "0 of 80 rows finished" in line
    assert store.list("rollouts") == []


def test_all_rows_failing_never_exits_0(store, tmp_path, stub_server):
    stub_server.faults = Faults(fail_marker="What")
    res = CliRunner().invoke(app, ["--store", str(store.root), "generate", problems_file(tmp_path), "--backend",
                                   "openai", "--model", "tiny", "-n", "2", "--max-tokens", "4", "--template", "r1_zero",
                                   "--runtime", f"base_url={stub_server.url}", "--runtime", "max_retries=0", "--quiet"])
    assert res.exit_code == 1 and "20 of 20 rows (100%) are model-call errors" in res.output
    assert store.list("rollouts") == []
