"""The view's pages over a real server: 404s name the snapshot, bad SQL shows its error, exports stream."""

from __future__ import annotations

import io

import httpx
import pyarrow.parquet as pq


def test_pages_render_and_unknown_snapshot_is_a_404_naming_it(server):
    base, snaps = server
    for path in ("/", "/?q=grpo", f"/s/{snaps['sft'].ref}", f"/lineage/{snaps['report'].ref}", "/sql", "/plots",
                 f"/rollouts/{snaps['rollouts'].ref}", f"/plot/funnel/{snaps['sft'].ref}.svg",
                 f"/plot/pass_rate/{snaps['difficulty'].ref}.svg", f"/plot/curves/{snaps['grpo'].ref}.svg",
                 f"/plot/metrics/{snaps['report'].ref}.svg", f"/s/{snaps['sft'].ref}/plots/funnel.png"):
        r = httpx.get(base + path, timeout=30)
        assert r.status_code == 200, (path, r.text[:300])
    assert "grpo-rollouts-demo" in httpx.get(base + "/?q=grpo").text
    assert "difficulty" not in httpx.get(base + "/?q=grpo").text
    r = httpx.get(base + "/s/no-such-snapshot")
    assert r.status_code == 404 and "no-such-snapshot" in r.text
    assert httpx.get(base + f"/plot/curves/{snaps['sft'].ref}.svg").status_code == 404


def test_snapshot_page_shows_rejects_schema_and_card_plot(server):
    base, snaps = server
    page = httpx.get(f"{base}/s/{snaps['sft'].ref}").text
    assert "Rows removed by each filter" in page and ">wrong<" in page and "reward_accuracy" in page
    assert "plots/funnel.png" in page


def test_lineage_runs_from_a_model_down_to_sources(server):
    base, snaps = server
    page = httpx.get(f"{base}/lineage", params={"model": "tiny-sft"}).text
    for ref in (snaps["sft"].ref, snaps["rollouts"].ref):
        assert f'href="/s/{ref}"' in page
    assert "procedural" in page and "model · sft" in page


def test_bad_sql_answers_with_its_error_and_the_server_keeps_serving(server):
    base, _ = server
    r = httpx.post(f"{base}/api/sql", json={"sql": "select frm where"})
    assert "Parser Error" in r.json()["error"]
    r = httpx.post(f"{base}/api/sql", json={"sql": "select count(*) from range(1000000000000) a"}, timeout=30)
    assert "time limit" in r.json()["error"]
    assert httpx.post(f"{base}/api/sql", json={"sql": "select 1 as x"}).json()["rows"] == [[1]]


def test_export_streams_csv_and_parquet(server):
    base, _ = server
    sql = "select problem_id, verdict from rollouts where domain = 'logic' limit 1234"
    csv = httpx.get(f"{base}/api/export", params={"sql": sql, "format": "csv"}).text.splitlines()
    assert csv[0] == '"problem_id","verdict"' and len(csv) == 1235
    raw = httpx.get(f"{base}/api/export", params={"sql": sql, "format": "parquet"}).content
    assert pq.read_table(io.BytesIO(raw)).num_rows == 1234
    r = httpx.get(f"{base}/api/export", params={"sql": "drop table snapshots", "format": "csv"})
    assert r.status_code == 400 and "only SELECT" in r.json()["error"]


def test_rollout_viewer_splits_reasoning_and_joins_reject_reasons(server):
    base, snaps = server
    page = httpx.get(f"{base}/rollouts/{snaps['rollouts'].ref}", params={"verdict": "wrong"}).text
    assert 'class="verdict v-wrong"' in page and 'class="reasoning tex"' in page and "rejected: wrong" in page
    by_reason = httpx.get(f"{base}/rollouts/{snaps['rollouts'].ref}", params={"reason": "wrong", "i": 5}).text
    assert "rejected: wrong" in by_reason and "v-correct" not in by_reason
    group = httpx.get(f"{base}/rollouts/{snaps['rollouts'].ref}", params={"mode": "group"}).text
    assert group.count('<article class="sample"') == 4
