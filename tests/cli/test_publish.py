"""Publish: huggingface_hub runs for real; only its HTTP transport is replaced by a fake Hub."""

from __future__ import annotations

import base64
import json

import duckdb
import httpx
import pyarrow as pa
import pytest

from factory import api


class FakeHub:
    """Answers the endpoints create_repo/upload_folder use and keeps the committed files."""

    def __init__(self):
        self.requests: list[tuple[str, str]] = []
        self.files: dict[str, bytes] = {}
        self.created: dict = {}

    def __call__(self, req: httpx.Request) -> httpx.Response:
        p = req.url.path
        self.requests.append((req.method, p))
        assert req.headers.get("authorization") == "Bearer hf_test_token"
        if p.endswith("/api/repos/create"):
            self.created = json.loads(req.content)
            return httpx.Response(200, json={"url": "https://huggingface.co/datasets/org/r1", "name": "org/r1"})
        if p.endswith("/api/validate-yaml"):
            return httpx.Response(200, json={"errors": [], "warnings": []})
        if "/preupload/" in p:
            files = json.loads(req.content)["files"]
            return httpx.Response(200, json={"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]})
        if "/commit/" in p:
            for line in req.content.decode().splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    self.files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            return httpx.Response(200, json={"commitUrl": "https://huggingface.co/datasets/org/r1/commit/1", "commitOid": "1" * 40})
        return httpx.Response(404, json={"error": f"not found: {p}"})


@pytest.fixture
def fake_hub(monkeypatch):
    from huggingface_hub.utils import set_client_factory

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    hub = FakeHub()
    set_client_factory(lambda: httpx.Client(transport=httpx.MockTransport(hub)))
    yield hub
    set_client_factory(lambda: httpx.Client())


def test_publish_uploads_card_manifest_and_data(store, fake_hub, tmp_path):
    with store.begin("problems", "abcdef", kind="problems") as sb:
        sb.write("train", [pa.RecordBatch.from_pydict({"problem_id": ["a", "b"], "prompt": ["1+1", "2+2"], "answer": ["2", "4"]})])
        sb.write("test", [pa.RecordBatch.from_pydict({"problem_id": ["c"], "prompt": ["3+3"], "answer": ["6"]})])
        snap = sb.commit(builder="t", builder_version="1")
    url = api.publish(store, "problems", "org/r1", private=True, token="hf_test_token")
    assert url.endswith("/commit/1")
    assert fake_hub.created["visibility"] == "private" and fake_hub.created["type"] == "dataset"
    assert set(fake_hub.files) == {"README.md", "manifest.json", "data/train-00000-of-00001.parquet",
                                   "data/test-00000-of-00001.parquet"}
    # what reached the Hub is a loadable dataset on its own
    out = tmp_path / "downloaded"
    for path, content in fake_hub.files.items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_bytes(content)
    import datasets

    ds = datasets.load_dataset(str(out))
    assert ds["train"]["answer"] == ["2", "4"] and ds["test"].num_rows == 1
    assert duckdb.connect().execute(f"select count(*) from '{out}/data/*.parquet'").fetchone() == (3,)
    assert json.loads(fake_hub.files["manifest.json"])["id"] == snap.id


def test_publish_rejects_bad_repo(store):
    with store.begin("problems", "abcdef", kind="problems") as sb:
        sb.write("train", [pa.RecordBatch.from_pydict({"problem_id": ["a"], "prompt": ["q"]})])
        sb.commit(builder="t", builder_version="1")
    with pytest.raises(Exception, match="expected ORG/NAME"):
        api.publish(store, "problems", "noslash", token="x")
