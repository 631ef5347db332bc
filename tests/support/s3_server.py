"""A real S3 API server on 127.0.0.1 (moto's server mode) for object-store tests: no mocked client calls.

The credentials are the usual ``AWS_*`` environment variables, so every client (s3fs, boto3,
subprocesses, Ray workers) finds them the way it would on a real deployment.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from typing import Iterator

import pytest

ACCESS_KEY = "AKIAFACTORYTESTKEY01"
SECRET_KEY = "factory-test-secret-7c1e9d0b4a"  # tests grep for it in everything written


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 60.0) -> None:
    """Block until a server accepts connections on 127.0.0.1:``port`` (a subprocess starting up)."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def s3_env(endpoint: str) -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "2"}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """The endpoint URL of a moto S3 server for this test process; the env points every client at it."""
    pytest.importorskip("s3fs", reason="object-store tests need s3fs and moto[server] (the dev extra)")
    moto_server = pytest.importorskip("moto.server", reason="object-store tests need moto[server]")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in s3_env(endpoint)}
    os.environ.update(s3_env(endpoint))
    try:
        yield endpoint
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


@pytest.fixture
def bucket(s3_server) -> str:
    """A fresh, empty bucket (its name)."""
    import boto3

    name = f"factory-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=name)
    return name


def all_objects(bucket: str) -> dict[str, bytes]:
    import boto3

    client = boto3.client("s3")
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return out
