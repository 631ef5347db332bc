"""Paths or fsspec URLs: one way to open a part file wherever a store lives (local, s3://, gs://, memory://).

Local paths never go through fsspec (the hot path stays plain file I/O). A URL's filesystem is
built from the usual configuration of its kind (for S3: ``AWS_*`` variables, ``~/.aws``), on
whichever node opens it, so nothing secret travels with a task or lands in a manifest.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO, Any

from factory.errors import FactoryError

_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/@]*@")


class StoreUnavailable(FactoryError):
    """An object store that cannot be used: unreachable, missing bucket, refused credentials."""


def is_url(location: str | Path) -> bool:
    """Whether ``location`` is a non-local fsspec URL (``file://`` and plain paths are local).

    >>> is_url("s3://bucket/prefix"), is_url("file:///tmp/x"), is_url("/tmp/x")
    (True, False, False)
    """
    s = str(location)
    return "://" in s and not s.startswith("file://")


def local_path(location: str | Path) -> Path:
    """``file:///x`` -> ``/x``; plain paths unchanged."""
    s = str(location)
    return Path(s[len("file://"):] if s.startswith("file://") else s).expanduser()


def redact(url: str) -> str:
    """A URL fit for messages and logs: credentials embedded as ``user:secret@`` are dropped.

    >>> redact("s3://AKIA:secret@bucket/prefix")
    's3://bucket/prefix'
    """
    return _USERINFO.sub(r"\1", url)


def filesystem(url: str) -> tuple[Any, str]:
    """(fsspec filesystem, path without protocol) of a URL; fsspec caches the instances."""
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as e:
        raise StoreUnavailable(f"cannot open store {redact(url)}: {e}") from None
    return fs, path.rstrip("/")


def join(base: str | Path, *parts: str) -> str | Path:
    """Join path parts onto a local Path or a URL string."""
    if isinstance(base, Path):
        return base.joinpath(*parts)
    return "/".join([str(base).rstrip("/"), *parts])


def open_input(path: str | Path) -> str | Path | IO[bytes]:
    """Something pyarrow can read: the path itself when local, an fsspec file object for a URL."""
    if not is_url(path):
        return path
    fs, p = filesystem(str(path))
    return fs.open(p, "rb")


def parquet_rows(path: str | Path) -> int:
    """Rows of a Parquet file from its footer (local or URL)."""
    import pyarrow.parquet as pq

    src = open_input(path)
    try:
        return pq.read_metadata(src).num_rows
    finally:
        if hasattr(src, "close"):
            src.close()


def describe_error(url: str, e: BaseException) -> str:
    """One line naming the URL and what went wrong — never the credentials."""
    name = type(e).__name__
    text = str(e).strip().splitlines()[0] if str(e).strip() else name
    if isinstance(e, PermissionError) or "AccessDenied" in text or "InvalidAccessKeyId" in text \
            or "SignatureDoesNotMatch" in text or "Forbidden" in text:
        why = "the credentials were refused (check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or your profile)"
    elif isinstance(e, FileNotFoundError) or "NoSuchBucket" in text:
        why = "the bucket does not exist"
    elif "connect" in text.lower() or "endpoint" in text.lower() or isinstance(e, (ConnectionError, TimeoutError)):
        why = f"the endpoint cannot be reached ({text[:120]})"
    else:
        why = f"{name}: {text[:160]}"
    return f"store {redact(url)} is not usable: {why}"
