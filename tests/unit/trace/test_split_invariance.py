"""Masking gives the same final log whatever the write boundaries (property-style, fixed seeds)."""

from __future__ import annotations

import itertools
import random

import pytest

from .helpers import run_parts

SECRETS = ["s3cr3t-value", "s3cr3t", "aab", "hunter2hunter2", "x" * 40]
ALPHABET = b"abxs3cr-t2hun ?&=_glpatrt\n\r."
FRAGMENTS = [
    *(s.encode() for s in SECRETS),
    b"?private_token=",
    b"&X-Amz-Signature=",
    b"glpat-",
    b"glrt-",
    b"_gitlab_session=",
    b"?private_tok",
    b"\xc3\xa9",
    b"\xff",
]


def random_stream(rng: random.Random, size: int) -> bytes:
    out = bytearray()
    while len(out) < size:
        if rng.random() < 0.3:
            out += rng.choice(FRAGMENTS)
        else:
            out += bytes(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12)))
    return bytes(out)


def random_split(rng: random.Random, data: bytes) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), k=min(len(data) - 1, rng.randint(1, 60))))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@pytest.mark.parametrize("seed", range(40))
def test_any_split_of_a_stream_gives_the_same_log_as_one_write(seed: int) -> None:
    rng = random.Random(seed)
    data = random_stream(rng, rng.randint(50, 1500))
    whole = run_parts([data], masked=SECRETS)
    for _ in range(10):
        assert run_parts(random_split(rng, data), masked=SECRETS) == whole


@pytest.mark.parametrize("seed", range(20))
def test_byte_by_byte_writes_give_the_same_log_as_one_write(seed: int) -> None:
    rng = random.Random(1000 + seed)
    data = random_stream(rng, 400)
    whole = run_parts([data], masked=SECRETS)
    assert run_parts([data[i : i + 1] for i in range(len(data))], masked=SECRETS) == whole


@pytest.mark.parametrize("seed", range(20))
def test_a_masked_value_never_appears_in_the_final_log(seed: int) -> None:
    rng = random.Random(2000 + seed)
    secrets = ["hunter2hunter2", "correct-horse"]
    noise = b"abc hunter2 correct- \n"
    pieces = [rng.choice([*(s.encode() for s in secrets), noise, b"hun", b"ter2"]) for _ in range(200)]
    data = b"".join(pieces)
    log = run_parts(random_split(rng, data), masked=secrets)
    for secret in secrets:
        assert secret.encode() not in log
    assert log.count(b"[MASKED]") >= sum(data.count(s.encode()) for s in secrets) // 2


def test_bytes_that_cannot_start_a_secret_are_released_at_once() -> None:
    from runnerfleet.trace import TraceBuffer

    with TraceBuffer(masked=["topsecret"], timestamps=False) as buffer:
        buffer.write(b"hello top")
        # "top" may still become the secret: only it is held back.
        assert buffer.bytes_since(0) == b"hello "
        buffer.write(b"hat ")
        assert buffer.bytes_since(0) == b"hello tophat "
        buffer.write(b"topsec")
        buffer.finish()
        # A partial match at the end is written as is: it is known not to be the full secret.
        assert buffer.bytes_since(0) == b"hello tophat topsec"
