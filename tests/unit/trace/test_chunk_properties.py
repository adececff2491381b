"""Pipe-sized writes: any chunking of a job's output gives the log of one write (fixed seeds)."""

from __future__ import annotations

import itertools
import random

import pytest

from runnerfleet.trace import TraceBuffer
from runnerfleet.trace.masking import MaskChain
from runnerfleet.trace.phrases import PhraseMasker
from runnerfleet.trace.tokens import TokenMasker, token_prefixes
from runnerfleet.trace.urlparams import UrlParamMasker

from .helpers import fixed_clock, run_parts

KIB = 1024
# Lower-case secrets: none can be formed by the bytes around a `[MASKED]`.
SECRETS = ["s3cr3t-value", "s3cr3t", "hunter2hunter2", "zz9plural", "deploy-key-0123456789abcdef"]
TOKEN_EXTRA = ["custom-"]
# Rare pieces a build log may contain: secrets, sensitive URL params, prefixed tokens, UTF-8.
RARE = [
    *(s.encode() for s in SECRETS),
    b"https://x.example/a?private_token=abc123&ref=main ",
    b"url /b?X-Amz-Signature=DEADBEEF\n",
    b"export GITLAB_TOKEN=glpat-0123456789abcdefABCD\n",
    b"registered glrt-t1_abcDEF.xyz ",
    b"cookie _gitlab_session=cafe0123; ",
    b"custom-sEcReT ",
    b"caf\xc3\xa9 \xe2\x9c\x93 ",
    b"stray \xff byte ",
    b"s3cr",  # a partial secret: held back, then released as is
]
COMMON = [
    b"Compiling module %d of 512 with -O2 -Wall && ok\n",
    b"downloading layer sha256:%d 12.5 MB / 40 MB\n",
    b"    at org.example.Build.run(Build.java:%d)\n",
    b"PASS test_%d (0.01s)\n",
]


def build_output(rng: random.Random, size: int) -> bytes:
    """Line-oriented build output of about `size` bytes; rare pieces once in a while."""
    out = bytearray()
    n = 0
    while len(out) < size:
        n += 1
        if rng.random() < 0.02:
            out += rng.choice(RARE)
        else:
            out += rng.choice(COMMON) % n
    return bytes(out)


def pipe_chunks(rng: random.Random, data: bytes) -> list[bytes]:
    """Chunks as a pipe reader sees them: mostly 64 KiB, sometimes short reads, sometimes tiny."""
    chunks = []
    pos = 0
    while pos < len(data):
        size = rng.choice([64 * KIB, 64 * KIB, rng.randint(1, 64 * KIB), rng.randint(1, 40)])
        chunks.append(data[pos : pos + size])
        pos += size
    return chunks


OPTIONS = {"masked": SECRETS, "token_mask_prefixes": TOKEN_EXTRA, "output_limit": 64 * 1024 * KIB}


@pytest.mark.parametrize("seed", range(12))
def test_pipe_sized_chunks_of_build_output_give_the_same_log_as_one_write(seed: int) -> None:
    rng = random.Random(seed)
    data = build_output(rng, 400 * KIB)
    whole = run_parts([data], **OPTIONS)
    assert run_parts(pipe_chunks(rng, data), **OPTIONS) == whole
    for secret in SECRETS:
        assert secret.encode() not in whole
    assert b"abc123" not in whole and b"0123456789abcdefABCD" not in whole


@pytest.mark.parametrize("seed", range(6))
def test_timestamped_lines_do_not_depend_on_where_the_pipe_cut_them(seed: int) -> None:
    # Without carriage returns and with lines shorter than the 8 KiB line buffer, every line
    # gets exactly one header wherever the reads split it.
    rng = random.Random(100 + seed)
    data = build_output(rng, 300 * KIB)
    data += b"" if data.endswith(b"\n") else b"\n"
    options = {**OPTIONS, "timestamps": True, "clock": fixed_clock}
    whole = run_parts([data], **options)
    assert run_parts(pipe_chunks(rng, data), **options) == whole
    assert whole.count(b"\n") == data.count(b"\n")


@pytest.mark.parametrize("seed", range(12))
def test_no_secret_is_ever_readable_while_the_job_writes(seed: int) -> None:
    rng = random.Random(200 + seed)
    data = build_output(rng, 200 * KIB)
    with TraceBuffer(timestamps=False, **OPTIONS) as buffer:  # type: ignore[arg-type]
        for chunk in pipe_chunks(rng, data):
            buffer.write(chunk)
            visible = buffer.bytes_since(0)
            assert not any(secret.encode() in visible for secret in SECRETS)
        buffer.finish()
        assert not any(secret.encode() in buffer.bytes_since(0) for secret in SECRETS)


class ScanEverything:
    """The three maskers chained with their full search on every write (the reference)."""

    def __init__(self) -> None:
        self.phrases = PhraseMasker(SECRETS)
        self.urls = UrlParamMasker()
        self.tokens = TokenMasker(token_prefixes(TOKEN_EXTRA))

    def feed(self, data: bytes) -> bytes:
        out = self.phrases.feed(data)
        out = self.urls.feed(out) if out else b""
        return self.tokens.feed(out) if out else b""


@pytest.mark.parametrize("seed", range(20))
def test_skipping_the_search_on_quiet_writes_changes_no_byte_and_no_release_point(seed: int) -> None:
    rng = random.Random(300 + seed)
    data = build_output(rng, 100 * KIB)
    cuts = sorted(rng.sample(range(1, len(data)), k=400))
    chain = MaskChain(SECRETS, token_prefixes(TOKEN_EXTRA))
    reference = ScanEverything()
    for a, b in itertools.pairwise([0, *cuts, len(data)]):
        assert chain.feed(data[a:b]) == reference.feed(data[a:b])
