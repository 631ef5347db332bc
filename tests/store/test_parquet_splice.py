"""Columns added to a Parquet file by copying its chunks: the footer codec, the assembled file as
pyarrow, DuckDB and Polars read it, the carried bytes, and the files that must not be spliced."""

from __future__ import annotations

import io
import struct

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from factory.errors import InputError
from factory.store import parquet_splice as ps
from factory.store import thrift_compact as tc
from factory.store.parquet_splice import append_columns, read_footer, splice_problem

N = 1000


def source_table() -> pa.Table:
    return pa.table({
        "id": pa.array(range(N), pa.int64()),
        "text": [f"row {i} " * (i % 13) for i in range(N)],
        "nested": [{"x": float(i), "tags": ["a", "b"][: i % 3]} for i in range(N)],
        "reward": pa.array([0.5] * N, pa.float32()),  # replaced by the new column of that name
        "flag": [True, None, False, None] * (N // 4),
    }).replace_schema_metadata({"origin": "test"})


def new_columns() -> pa.Table:
    return pa.table({"reward": pa.array(np.arange(N, dtype=np.float32)),
                     "verdict": [["correct", "wrong", None][i % 3] for i in range(N)]})


def expected() -> pa.Table:
    new = new_columns()
    return source_table().drop_columns(["reward"]).append_column("reward", new["reward"]) \
        .append_column("verdict", new["verdict"])


def footer_bytes(data: bytes) -> bytes:
    n = struct.unpack("<i", data[-8:-4])[0]
    return data[-8 - n:-8]


@pytest.mark.parametrize("options", [
    {}, {"write_page_index": True}, {"compression": "snappy", "use_dictionary": False},
    {"compression": "gzip", "write_statistics": False}, {"bloom_filter_options": {"id": {"ndv": N}}},
])
def test_footer_decodes_and_encodes_to_the_same_bytes(options):
    buf = io.BytesIO()
    pq.write_table(source_table(), buf, row_group_size=300, **options)
    foot = footer_bytes(buf.getvalue())
    meta = tc.decode(foot)
    assert tc.encode(meta) == foot
    assert meta.get(3) == N and len(meta.get(ps.F_ROW_GROUPS).items) == 4


def test_codec_values_and_bad_bytes():
    s = tc.Struct()
    s.set(1, tc.BOOL, True)
    s.set(2, tc.I64, -(2**62))
    s.set(40, tc.BINARY, b"\x00abc")  # a jump over 15 ids: long field header
    s.set(41, tc.DOUBLE, -1.25)
    s.set(42, tc.LIST, tc.TList(tc.I32, list(range(-20, 20))))  # 40 items: long list header
    s.set(43, tc.LIST, tc.TList(tc.BOOL, [True, False]))
    s.set(44, tc.MAP, tc.TMap(tc.BINARY, tc.I16, [(b"k", 7)]))
    back = tc.decode(tc.encode(s))
    assert back.fields == s.fields
    with pytest.raises(tc.ThriftError, match="truncated"):
        tc.decode(tc.encode(s)[:-3])
    with pytest.raises(tc.ThriftError, match="after the struct"):
        tc.decode(tc.encode(s) + b"\x00")


@pytest.mark.parametrize("options", [
    {}, {"write_page_index": True, "compression": "snappy"}, {"use_dictionary": False, "compression": "none"},
    {"bloom_filter_options": {"id": {"ndv": N}}},
])
def test_assembled_file_reads_as_the_source_plus_the_new_columns(tmp_path, options):
    src, out = tmp_path / "src.parquet", tmp_path / "out.parquet"
    pq.write_table(source_table(), src, row_group_size=300, **options)
    rows = append_columns(src, out, new_columns().to_batches(max_chunksize=170))  # batches cut across groups
    assert rows == N
    got = pq.read_table(out)
    assert got.equals(expected()) and got.schema.metadata == {b"origin": b"test"}
    assert pq.read_table(out, filters=[("id", ">=", 990)]).num_rows == 10  # statistics moved with the chunks
    assert duckdb.sql(f"select count(*), sum(reward), count(verdict) from '{out}'").fetchall() == [(N, N * (N - 1) / 2, 667)]
    assert pl.read_parquet(out).equals(pl.from_arrow(expected()))
    assert pq.ParquetFile(out).metadata.num_row_groups == 4


def test_carried_chunks_and_indexes_are_the_source_bytes(tmp_path):
    src, out = tmp_path / "src.parquet", tmp_path / "out.parquet"
    pq.write_table(source_table(), src, row_group_size=300, write_page_index=True,
                   bloom_filter_options={"id": {"ndv": N}})
    append_columns(src, out, new_columns().to_batches())
    data, copy = src.read_bytes(), out.read_bytes()
    before, after = read_footer(io.BytesIO(data)), read_footer(io.BytesIO(copy))
    kept = [0, 1, 2, 3, 5]  # leaves: id, text, nested.x, nested.tags.element, flag (reward dropped)
    for rg_in, rg_out in zip(before.get(ps.F_ROW_GROUPS).items, after.get(ps.F_ROW_GROUPS).items):
        cols_in, cols_out = rg_in.get(ps.RG_COLUMNS).items, rg_out.get(ps.RG_COLUMNS).items
        assert len(cols_out) == len(kept) + 2
        for j, cc_out in zip(kept, cols_out):
            a, n = ps._span(cols_in[j].get(ps.CC_META))
            b, m = ps._span(cc_out.get(ps.CC_META))
            assert n == m and data[a:a + n] == copy[b:b + m]
            for off, length in ((4, 5), (6, 7)):  # offset index, column index
                o, k = cols_in[j].get(off), cols_in[j].get(length)
                assert copy[cc_out.get(off):cc_out.get(off) + k] == data[o:o + k]
        bloom_in, bloom_out = cols_in[0].get(ps.CC_META), cols_out[0].get(ps.CC_META)
        o, k = bloom_in.get(14), bloom_in.get(15)
        assert k and copy[bloom_out.get(14):bloom_out.get(14) + k] == data[o:o + k]
    meta = pq.ParquetFile(out).metadata.row_group(0)
    assert meta.column(0).has_offset_index and meta.column(0).has_column_index


def test_a_failed_stream_leaves_the_old_output_and_no_temp(tmp_path):
    src, out = tmp_path / "src.parquet", tmp_path / "out.parquet"
    pq.write_table(source_table(), src, row_group_size=300)
    out.write_bytes(b"previous result")

    def broken():
        yield from new_columns().slice(0, 400).to_batches()
        raise RuntimeError("grader died")

    with pytest.raises(RuntimeError, match="grader died"):
        append_columns(src, out, broken())
    with pytest.raises(InputError, match="for 1,005 rows, not its 1,000"):
        append_columns(src, out, pa.concat_tables([new_columns(), new_columns().slice(0, 5)]).to_batches())
    with pytest.raises(InputError, match="for 950 rows, not its 1,000"):
        append_columns(src, out, new_columns().slice(0, 950).to_batches())
    assert out.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet", "src.parquet"]


def _rewrite_footer(path, edit) -> None:
    data = path.read_bytes()
    meta = read_footer(io.BytesIO(data))
    edit(meta)
    body = tc.encode(meta)
    n = struct.unpack("<i", data[-8:-4])[0]
    path.write_bytes(data[:-8 - n] + body + struct.pack("<i", len(body)) + b"PAR1")


def test_files_that_must_not_be_spliced(tmp_path):
    ok = tmp_path / "ok.parquet"
    pq.write_table(source_table(), ok)
    assert splice_problem(ok) is None
    empty = tmp_path / "empty.parquet"
    pq.write_table(source_table().slice(0, 0), empty)
    assert splice_problem(empty) == "no rows"
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all")
    assert "unreadable footer" in splice_problem(junk)

    old = tmp_path / "old.parquet"
    pq.write_table(source_table(), old)
    _rewrite_footer(old, lambda m: m.set(ps.F_CREATED_BY, tc.BINARY, b"parquet-mr version 1.2.8 (build x)"))
    assert "PARQUET-816" in splice_problem(old)
    _rewrite_footer(old, lambda m: m.set(ps.F_CREATED_BY, tc.BINARY, b"parquet-mr version 1.12.3 (build x)"))
    assert splice_problem(old) is None

    elsewhere = tmp_path / "elsewhere.parquet"
    pq.write_table(source_table(), elsewhere)
    _rewrite_footer(elsewhere, lambda m: m.get(ps.F_ROW_GROUPS).items[0].get(ps.RG_COLUMNS).items[0].set(1, tc.BINARY, b"x.parquet"))
    assert splice_problem(elsewhere) == "column chunks in other files"
    with pytest.raises(InputError, match="cannot add columns in place: column chunks in other files"):
        append_columns(elsewhere, tmp_path / "o.parquet", new_columns().to_batches())


@pytest.mark.parametrize("plaintext_footer", [False, True])
def test_encrypted_files_are_not_spliced(tmp_path, plaintext_footer):
    pe = pytest.importorskip("pyarrow.parquet.encryption")
    import base64

    class Kms(pe.KmsClient):
        """Wraps keys with nothing: enough to write an encrypted file."""

        def __init__(self, config):
            pe.KmsClient.__init__(self)

        def wrap_key(self, key, master_key_identifier):
            return base64.b64encode(key)

        def unwrap_key(self, wrapped, master_key_identifier):
            return base64.b64decode(wrapped)

    props = pe.CryptoFactory(Kms).file_encryption_properties(
        pe.KmsConnectionConfig(),
        pe.EncryptionConfiguration(footer_key="f", column_keys={"c": ["text"]}, plaintext_footer=plaintext_footer,
                                   double_wrapping=False))
    path = tmp_path / "enc.parquet"
    with pq.ParquetWriter(path, source_table().schema, encryption_properties=props) as w:
        w.write_table(source_table())
    assert splice_problem(path) == "encrypted"


@pytest.mark.parametrize("writer", ["polars", "duckdb"])
def test_sources_written_by_other_engines(tmp_path, writer):
    """Rollouts often come from Polars or DuckDB: their chunks, indexes and footers splice too."""
    src, out = tmp_path / "src.parquet", tmp_path / "out.parquet"
    table = source_table().drop_columns(["nested"])
    if writer == "polars":
        pl.from_arrow(table).write_parquet(src, row_group_size=300, statistics=True)
    else:
        con = duckdb.connect()
        con.register("t", table)
        con.execute(f"COPY t TO '{src}' (FORMAT parquet, ROW_GROUP_SIZE 300)")
    assert splice_problem(src) is None
    append_columns(src, out, new_columns().to_batches(max_chunksize=333))
    want = pq.read_table(src).drop_columns(["reward"])
    want = want.append_column("reward", new_columns()["reward"]).append_column("verdict", new_columns()["verdict"])
    assert pq.read_table(out).equals(want)
    assert duckdb.sql(f"select sum(id), count(verdict) from '{out}' where id >= 500").fetchall() == [
        (sum(range(500, N)), sum(1 for i in range(500, N) if i % 3 != 2))]
    assert pl.read_parquet(out).shape == (N, len(want.column_names))
