"""A real S3-compatible server for the tests: `moto_server` on a free loopback port.

moto accepts any signature (testworld §7), so these tests prove the object flow (names, bodies,
metadata, Last-Modified); the signatures themselves are checked against AWS's published example
in the unit tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BUCKET = "runner-cache"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def moto_server_command() -> str:
    found = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
    if not os.path.exists(found):
        pytest.fail("moto_server is not installed: pip install 'moto[server]' (the test extra)")
    return found


@dataclass
class S3Server:
    address: str  # host:port, as [runners.cache.s3] ServerAddress
    process: subprocess.Popen[bytes]

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=f"http://{self.address}", region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test",
                            config=Config(signature_version="s3v4"))

    def objects(self) -> dict[str, bytes]:
        client = self.client()
        listing = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        return {o["Key"]: client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listing}

    def metadata(self, key: str) -> dict[str, str]:
        return dict(self.client().head_object(Bucket=BUCKET, Key=key)["Metadata"])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_s3_server() -> S3Server:
    """Start moto_server on a free port and create the bucket; fail the test if it cannot."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.Popen([moto_server_command(), "-H", "127.0.0.1", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = S3Server(f"127.0.0.1:{port}", proc)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://{server.address}/", timeout=2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                pytest.fail("moto_server did not start")
            time.sleep(0.1)
    server.client().create_bucket(Bucket=BUCKET)
    return server
