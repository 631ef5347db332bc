// SQL console: pages come from the server (LIMIT/OFFSET in DuckDB); nothing is loaded whole.
(function () {
  const $ = (id) => document.getElementById(id);
  const sqlBox = $("sql"), status = $("status"), errorBox = $("error"), table = $("results");
  let page = 0, qid = null, lastSql = "";

  function newQid() { return Math.random().toString(36).slice(2) + Date.now().toString(36); }

  function showError(msg) { errorBox.textContent = msg; errorBox.hidden = false; }

  function render(data) {
    table.replaceChildren();
    const head = table.createTHead().insertRow();
    data.columns.forEach((c, i) => {
      const th = document.createElement("th");
      th.textContent = c; th.title = data.types[i]; head.appendChild(th);
    });
    const body = table.createTBody();
    data.rows.forEach((r) => {
      const tr = body.insertRow();
      r.forEach((v) => {
        const td = tr.insertCell();
        if (v === null) { td.textContent = "NULL"; td.className = "null"; }
        else { const s = String(v); td.textContent = s.length > 300 ? s.slice(0, 300) + "…" : s; td.title = s.length > 300 ? s.slice(0, 2000) : ""; }
        if (typeof v === "number") td.classList.add("num");
      });
    });
    const first = data.page * data.page_size + 1, last = data.page * data.page_size + data.rows.length;
    status.textContent = (data.rows.length ? `rows ${first}–${last}` : "no rows") +
      (data.has_more ? " (more)" : "") + (data.capped ? " · row cap reached" : "") + ` · ${data.elapsed_s} s`;
    status.dataset.state = "done";
    $("prev").disabled = data.page === 0;
    $("next").disabled = !data.has_more;
  }

  async function run(p) {
    lastSql = sqlBox.value; page = p; qid = newQid();
    errorBox.hidden = true; status.textContent = "running…"; status.dataset.state = "running";
    $("cancel").disabled = false; $("run").disabled = true;
    try {
      const res = await fetch("/api/sql", {method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({sql: lastSql, page: p, qid: qid})});
      const data = await res.json();
      if (data.error) { table.replaceChildren(); showError(data.error); status.textContent = data.refused ? "refused" : "failed"; status.dataset.state = "error"; }
      else render(data);
    } catch (e) { showError("request failed: " + e); status.dataset.state = "error"; }
    finally { $("cancel").disabled = true; $("run").disabled = false; qid = null; }
  }

  function exportHref(fmt) { return "/api/export?format=" + fmt + "&sql=" + encodeURIComponent(sqlBox.value); }

  $("run").addEventListener("click", () => run(0));
  $("next").addEventListener("click", () => run(page + 1));
  $("prev").addEventListener("click", () => run(Math.max(page - 1, 0)));
  $("cancel").addEventListener("click", () => {
    if (qid) fetch("/api/cancel", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({qid: qid})});
  });
  sqlBox.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(0); } });
  $("export-csv").addEventListener("click", (e) => { e.currentTarget.href = exportHref("csv"); });
  $("export-parquet").addEventListener("click", (e) => { e.currentTarget.href = exportHref("parquet"); });
  if (new URLSearchParams(location.search).has("sql")) run(0);
})();
