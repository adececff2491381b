"""The final upload of a big job log against the coordinator: complete, and in bounded memory."""

from __future__ import annotations

import tracemalloc
import zlib
from collections.abc import Iterator

import httpx
import pytest

from runnerfleet.gitlab import GitLabClient, request_job, runner_info
from runnerfleet.trace import TraceBuffer, TraceStreamer
from tests.fixtures.coordinator import RunningCoordinator

MIB = 1024 * 1024
LINE = b"runnerfleet trace test line: 0123456789 abcdefghijklmnopqrstuvwxyz\n"


@pytest.fixture
def client(coordinator: RunningCoordinator) -> Iterator[GitLabClient]:
    client = GitLabClient(coordinator.url)
    yield client
    client.close()


def test_a_32_mib_log_is_uploaded_whole_holding_only_a_few_patch_bodies(
    coordinator: RunningCoordinator, client: GitLabClient
) -> None:
    runner = coordinator.create_runner(run_untagged=True, description="trace")
    with httpx.Client(base_url=coordinator.url, trust_env=False,
                      headers={"PRIVATE-TOKEN": coordinator.admin_token}) as admin:
        queued = admin.post("/-/jobs", json={"script": ["echo"]}).json()
        info = runner_info(executor="shell", shell="bash",
                           features={"trace_checksum": True, "trace_size": True})
        got = request_job(client, runner["token"], system_id="s_0123456789ab", info=info,
                          last_update=None)
        assert got.payload is not None
        chunk = (LINE * (64 * 1024 // len(LINE) + 1))[: 64 * 1024]
        with TraceBuffer(output_limit=64 * MIB) as buffer:
            for _ in range(32 * MIB // len(chunk)):
                buffer.write(chunk)
            streamer = TraceStreamer(client, int(queued["id"]), str(got.payload["token"]), buffer,
                                     info=info, on_cancel=lambda kind: None)
            tracemalloc.start()
            try:
                streamer.finish("success")
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            result = streamer.final_result
            assert result is not None and result.accepted
            log = buffer.bytes_since(0)
            checksum = buffer.checksum()
        job = admin.get(f"/-/jobs/{queued['id']}").json()
    # GitLab holds the runner's whole log, byte for byte, and the job is done.
    assert job["status"] == "success"
    assert job["trace_bytesize"] == len(log) > 32 * MIB
    assert job["trace_checksum"] == checksum == f"crc32:{zlib.crc32(log):08x}"
    assert job["trace"].encode() == log
    # 33 patches of up to 1 MiB went out; the HTTP client's objects must not pile them up.
    assert peak < 8 * MIB, f"the upload held {peak / MIB:.1f} MiB of Python objects at its peak"
