"""`factory view`: the web app (Starlette routes, Jinja templates, vendored static files; read-only, offline).

Why Starlette + uvicorn: a small, well-kept ASGI pair (Starlette ~5k lines, uvicorn is the
reference ASGI server) whose sync endpoints run in a thread pool, so a slow query never
blocks other pages, and whose test client and static-file serving come built in. The
stdlib ``http.server`` would need our own routing, threading and error handling.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from factory.errors import SnapshotNotFound
from factory.store.snapshot import Snapshot
from factory.store.store import Store
from factory.view import pages
from factory.view.engine import Engine, EngineConfig, QueryFailed, QueryRefused
from factory.view.plots import KINDS, plot_svg

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


@dataclass(frozen=True)
class ViewConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    engine: EngineConfig = EngineConfig()


def _snapshot(request: Request) -> Snapshot:
    store: Store = request.app.state.store
    ref = request.path_params["ref"]
    try:
        return store.get(ref)
    except (SnapshotNotFound, ValueError):
        raise HTTPException(404, f"unknown snapshot {ref!r}") from None


def _render(request: Request, name: str, status: int = 200, **ctx) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"store": request.app.state.store, **ctx}, status_code=status)


def index(request: Request):
    q = request.query_params.get("q", "")
    return _render(request, "index.html", q=q, rows=pages.snapshot_rows(request.app.state.store, q))


def snapshot(request: Request):
    snap = _snapshot(request)
    m = snap.manifest
    stats = {k: v for k, v in (m.get("stats") or {}).items()}
    return _render(request, "snapshot.html", snap=snap, m=m, card=pages.card_body(snap), stats=stats,
                   plots=pages.plot_kinds(snap), kinds=KINDS, text_col=pages.text_column(snap),
                   card_plots=m.get("plots") or {})


def card_file(request: Request):
    """Card images (``plots/*.png``) straight from the snapshot folder."""
    snap = _snapshot(request)
    path = (snap.path / "plots" / request.path_params["file"]).resolve()
    if path.parent != (snap.path / "plots").resolve() or not path.is_file():
        raise HTTPException(404, f"{snap.ref} has no plot {request.path_params['file']!r}")
    return Response(path.read_bytes(), media_type="image/png")


def lineage_page(request: Request):
    store: Store = request.app.state.store
    if "model" in request.query_params:
        model = pages.find_model(store, request.query_params["model"])
        if model is None:
            raise HTTPException(404, f"unknown model {request.query_params['model']!r}")
        try:
            snap = store.get(str(model.get("data_ref")))
        except SnapshotNotFound:
            snap = None
        title = str(model.get("path"))
    else:
        snap, model = _snapshot(request), None
        title = snap.ref
    nodes = pages.lineage_graph(store, snap, model)
    from factory.store.models import all_models

    return _render(request, "lineage.html", title=title, svg=pages.lineage_svg(nodes), nodes=nodes,
                   models=all_models(store))


def plot(request: Request):
    snap = _snapshot(request)
    try:
        svg = plot_svg(request.app.state.engine, snap, request.path_params["kind"])
    except (ValueError, QueryFailed) as e:
        raise HTTPException(404, str(e)) from None
    return Response(svg, media_type="image/svg+xml")


def plots_page(request: Request):
    store: Store = request.app.state.store
    items = [(s, k) for s in reversed(store.list()) for k in pages.plot_kinds(s)]
    return _render(request, "plots.html", items=items, kinds=KINDS)


def sql_page(request: Request):
    cfg: EngineConfig = request.app.state.engine.config
    return _render(request, "sql.html", sql=request.query_params.get("sql", ""), cfg=cfg)


async def sql_api(request: Request):
    body = await request.json()
    from starlette.concurrency import run_in_threadpool

    engine: Engine = request.app.state.engine
    try:
        page = await run_in_threadpool(engine.page, str(body.get("sql", "")), int(body.get("page", 0)),
                                       body.get("qid"))
    except (QueryRefused, QueryFailed) as e:
        # 200: the console shows the error in the page; a 4xx would also land in the browser's console
        return JSONResponse({"error": str(e), "refused": isinstance(e, QueryRefused)})
    rows = [[_cell(v) for v in r] for r in page.rows]
    return JSONResponse({"columns": page.columns, "types": page.types, "rows": rows, "page": page.page,
                         "has_more": page.has_more, "capped": page.capped, "elapsed_s": round(page.elapsed_s, 4),
                         "page_size": engine.config.page_size})


def _cell(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return json.dumps(v, default=str, ensure_ascii=False) if isinstance(v, (list, dict)) else str(v)


async def cancel_api(request: Request):
    body = await request.json()
    return JSONResponse({"cancelled": request.app.state.engine.cancel(str(body.get("qid", "")))})


class _Drain:
    """A write-only sink the Parquet/CSV writers append to; the response drains it chunk by chunk."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.pos = 0
        self.closed = False

    def write(self, b) -> int:
        self.chunks.append(bytes(b))
        self.pos += len(b)
        return len(b)

    def tell(self) -> int:
        return self.pos

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out, self.chunks = b"".join(self.chunks), []
        return out


def _export_stream(first, batches, fmt: str):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    drain = _Drain()
    sink = pa.PythonFile(drain, mode="w")
    writer = pacsv.CSVWriter(sink, first.schema) if fmt == "csv" else pq.ParquetWriter(sink, first.schema,
                                                                                        compression="zstd")
    for b in _chain(first, batches):
        writer.write_batch(b) if fmt == "csv" else writer.write_table(pa.Table.from_batches([b]))
        yield drain.take()
    writer.close()
    yield drain.take()


def _chain(first, rest):
    yield first
    yield from rest


def export_api(request: Request):
    """CSV or Parquet of a query (at most the row cap), streamed from DuckDB's Arrow batches."""
    sql, fmt = request.query_params.get("sql", ""), request.query_params.get("format", "csv")
    if fmt not in ("csv", "parquet"):
        raise HTTPException(400, f"unknown export format {fmt!r}: choose csv or parquet")
    engine: Engine = request.app.state.engine
    try:
        batches = engine.record_batches(sql)
        first = next(batches, None)
    except (QueryRefused, QueryFailed) as e:
        return JSONResponse({"error": str(e)}, status_code=400)
    if first is None:
        return JSONResponse({"error": "the query returned no rows: nothing to export"}, status_code=400)
    media = "text/csv" if fmt == "csv" else "application/vnd.apache.parquet"
    return StreamingResponse(_export_stream(first, batches, fmt), media_type=media,
                             headers={"Content-Disposition": f'attachment; filename="query.{fmt}"'})


def rollouts(request: Request):
    snap = _snapshot(request)
    engine: Engine = request.app.state.engine
    qp = request.query_params
    split = qp.get("split") or snap.default_split
    if not snap.has_split(split) or pages.text_column(snap) is None and split == snap.default_split:
        raise HTTPException(404, f"{snap.ref} has no rollouts to view (no completion/messages column in {split!r})")
    filters = {k: qp.get(k, "") for k in pages.FILTERS}
    i = max(int(qp.get("i", "0") or 0), 0)
    mode = qp.get("mode", "row")
    src = pages.rollout_source(request.app.state.store, snap, split)
    sql, params = pages.rollout_query(src, filters)
    cols, rows = engine.rows(f"{sql} limit 1 offset {i}", params)
    current = [dict(zip(cols, rows[0]))] if rows else []
    if current and mode == "group" and "problem_id" in cols:
        gcols, grows = engine.rows(f"select * from {src.view} where problem_id = ? order by sample_idx limit 16",
                                   [current[0]["problem_id"]])
        current = [dict(zip(gcols, r)) for r in grows]
    pages.attach_reasons(engine, src, current)
    samples = [pages.as_sample(r) for r in current]
    from urllib.parse import urlencode

    q = urlencode({"split": split, "mode": mode, **{k: v for k, v in filters.items() if v}})
    return _render(request, "rollouts.html", snap=snap, split=split, filters=filters, mode=mode, i=i, q=q,
                   samples=samples, values=pages.filter_values(engine, src),
                   prompt=current[0].get("prompt") if current else None)


async def not_found(request: Request, exc: HTTPException):
    return _render(request, "error.html", status=exc.status_code, message=exc.detail, code=exc.status_code)


def make_app(store: Store, config: ViewConfig | None = None) -> Starlette:
    """The ASGI app over ``store`` (served by ``serve``; tests drive it through a real server too)."""
    config = config or ViewConfig()
    routes = [
        Route("/", index), Route("/s/{ref:str}", snapshot), Route("/s/{ref:str}/plots/{file:str}", card_file),
        Route("/lineage", lineage_page), Route("/lineage/{ref:str}", lineage_page),
        Route("/plot/{kind:str}/{ref:str}.svg", plot), Route("/plots", plots_page),
        Route("/sql", sql_page), Route("/api/sql", sql_api, methods=["POST"]),
        Route("/api/cancel", cancel_api, methods=["POST"]), Route("/api/export", export_api),
        Route("/rollouts/{ref:str}", rollouts),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: not_found})
    app.state.store, app.state.engine = store, Engine(store, config.engine)
    return app


def serve(store: Store, config: ViewConfig | None = None) -> None:
    """Run the view until interrupted (uvicorn, one process; queries run in its thread pool)."""
    import uvicorn

    config = config or ViewConfig()
    app = make_app(store, config)
    app.state.engine.connection()  # build the catalog before the first request
    try:
        uvicorn.run(app, host=config.host, port=config.port, log_level="warning")
    finally:
        app.state.engine.close()
