"""Thrift's compact protocol, schema-free: enough to read a Parquet footer, change some of its
fields and write it back.

A Parquet footer (``FileMetaData``) is one compact-protocol struct. The protocol names every
field by id and type, so a struct decodes without its IDL into ``{field id: (type, value)}`` and
encodes back to the same bytes. That is all ``parquet_splice`` needs: it moves column chunks and
rewrites their offsets, and every field it does not touch (statistics, encodings, logical types,
fields added by later Parquet versions) travels through unchanged. Spec:
https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md
"""

from __future__ import annotations

import struct as _struct
from dataclasses import dataclass, field
from typing import Any

BOOL, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
_TRUE, _FALSE = 1, 2  # a bool field's type nibble carries its value


class ThriftError(ValueError):
    """Bytes that are not a well-formed compact-protocol struct."""


@dataclass
class Struct:
    """A decoded struct: field id -> (type, value). Lists are ``TList``; nested structs are ``Struct``."""

    fields: dict[int, tuple[int, Any]] = field(default_factory=dict)

    def get(self, fid: int, default: Any = None) -> Any:
        item = self.fields.get(fid)
        return default if item is None else item[1]

    def set(self, fid: int, ttype: int, value: Any) -> None:
        self.fields[fid] = (ttype, value)

    def drop(self, *fids: int) -> None:
        for fid in fids:
            self.fields.pop(fid, None)


@dataclass
class TList:
    """A list (or set: the field's type says which) of one element type."""

    etype: int
    items: list[Any]


@dataclass
class TMap:
    ktype: int
    vtype: int
    items: list[tuple[Any, Any]]


class _Reader:
    def __init__(self, data: bytes | memoryview, pos: int = 0) -> None:
        self.data, self.pos = memoryview(data), pos

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise ThriftError("truncated struct")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        shift = out = 0
        while True:
            b = self.byte()
            out |= (b & 0x7F) << shift
            if not b & 0x80:
                return out
            shift += 7
            if shift > 70:
                raise ThriftError("varint too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ThriftError("truncated binary")
        out = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return out

    def value(self, ttype: int, depth: int) -> Any:
        if depth > 64:
            raise ThriftError("nesting too deep")
        if ttype in (_TRUE, _FALSE):  # inside a list or map: one byte, 1 = true
            return self.byte() == _TRUE
        if ttype == BYTE:
            b = self.byte()
            return b - 256 if b > 127 else b
        if ttype in (I16, I32, I64):
            return self.zigzag()
        if ttype == DOUBLE:
            return _struct.unpack("<d", self.take(8))[0]
        if ttype == BINARY:
            return self.take(self.varint())
        if ttype in (LIST, SET):
            head = self.byte()
            size, etype = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            return TList(etype, [self.value(etype, depth + 1) for _ in range(size)])
        if ttype == MAP:
            size = self.varint()
            if not size:
                return TMap(0, 0, [])
            kv = self.byte()
            kt, vt = kv >> 4, kv & 0x0F
            return TMap(kt, vt, [(self.value(kt, depth + 1), self.value(vt, depth + 1)) for _ in range(size)])
        if ttype == STRUCT:
            return self.struct(depth + 1)
        raise ThriftError(f"unknown field type {ttype}")

    def struct(self, depth: int = 0) -> Struct:
        out, last = Struct(), 0
        while True:
            head = self.byte()
            if head == 0:
                return out
            delta, ttype = head >> 4, head & 0x0F
            fid = last + delta if delta else self.zigzag()
            if ttype in (_TRUE, _FALSE):
                out.fields[fid] = (BOOL, ttype == _TRUE)
            else:
                out.fields[fid] = (ttype, self.value(ttype, depth))
            last = fid


def decode(data: bytes | memoryview, trailing: bool = False) -> Struct:
    """The struct that ``data`` holds; bytes after it are an error unless ``trailing`` (a signed
    plaintext footer is followed by its signature)."""
    reader = _Reader(data)
    out = reader.struct()
    if reader.pos != len(reader.data) and not trailing:
        raise ThriftError(f"{len(reader.data) - reader.pos} bytes after the struct")
    return out


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def varint(self, n: int) -> None:
        while n > 0x7F:
            self.out.append((n & 0x7F) | 0x80)
            n >>= 7
        self.out.append(n)

    def zigzag(self, n: int) -> None:
        self.varint((n << 1) ^ (n >> 63))

    def value(self, ttype: int, v: Any) -> None:
        if ttype in (_TRUE, _FALSE):  # a list or map element (a bool field is in its header)
            self.out.append(_TRUE if v else _FALSE)
        elif ttype == BYTE:
            self.out.append(v & 0xFF)
        elif ttype in (I16, I32, I64):
            self.zigzag(v)
        elif ttype == DOUBLE:
            self.out += _struct.pack("<d", v)
        elif ttype == BINARY:
            self.varint(len(v))
            self.out += v
        elif ttype in (LIST, SET):
            n = len(v.items)
            if n < 15:
                self.out.append((n << 4) | v.etype)
            else:
                self.out.append(0xF0 | v.etype)
                self.varint(n)
            for item in v.items:
                self.value(v.etype, item)
        elif ttype == MAP:
            self.varint(len(v.items))
            if v.items:
                self.out.append((v.ktype << 4) | v.vtype)
                for k, item in v.items:
                    self.value(v.ktype, k)
                    self.value(v.vtype, item)
        elif ttype == STRUCT:
            self.struct(v)
        else:
            raise ThriftError(f"unknown field type {ttype}")

    def struct(self, s: Struct) -> None:
        last = 0
        for fid in sorted(s.fields):
            ttype, v = s.fields[fid]
            head = (_TRUE if v else _FALSE) if ttype == BOOL else ttype
            if 0 < fid - last <= 15:
                self.out.append(((fid - last) << 4) | head)
            else:
                self.out.append(head)
                self.zigzag(fid)
            if ttype != BOOL:
                self.value(ttype, v)
            last = fid
        self.out.append(0)


def encode(s: Struct) -> bytes:
    w = _Writer()
    w.struct(s)
    return bytes(w.out)
