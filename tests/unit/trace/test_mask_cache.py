"""Cached maskers: each job's log masks its own values only, and finished jobs' secrets are dropped."""

from __future__ import annotations

import threading

from runnerfleet.trace import STDERR, STDOUT, STREAM_WORK, TraceBuffer
from runnerfleet.trace.literalcache import LiteralSetCache
from runnerfleet.trace.phrases import PHRASE_SETS, PHRASE_SETS_MAX


def job_log(masked: list[str], *writes: bytes, token_mask_prefixes: tuple[str, ...] = ()) -> bytes:
    """One job's log as the service and the Build set it up (constructor, then both setters)."""
    with TraceBuffer(masked=masked, timestamps=False, token_mask_prefixes=token_mask_prefixes) as log:
        log.set_token_mask_prefixes(token_mask_prefixes)
        log.set_masked(masked)
        out = log.stream(STREAM_WORK, STDOUT)
        for data in writes:
            out.write(data)
        log.finish()
        return log.bytes_since(0)


def test_the_next_job_masks_its_own_values_and_not_the_previous_jobs() -> None:
    first = job_log(["first-job-secret-1"], b"a first-job-secret-1 b second-job-secret-2\n")
    second = job_log(["second-job-secret-2"], b"a first-job-secret-1 b second-job-secret-2\n")
    assert first == b"a [MASKED] b second-job-secret-2\n"
    assert second == b"a first-job-secret-1 b [MASKED]\n"


def test_jobs_with_the_same_values_all_mask_them_and_default_token_prefixes_in_every_job() -> None:
    line = b"deploy with same-secret-value and glpat-AbCdEf123 and glcbt-64_Zz9\n"
    for _ in range(3):
        masked = job_log(["same-secret-value"], line)
        assert masked == b"deploy with [MASKED] and glpat-[MASKED] and glcbt-[MASKED]\n"


def test_a_jobs_extra_token_prefix_is_not_masked_in_the_next_job() -> None:
    line = b"acmetok-123456 glpat-abc\n"
    assert job_log([], line, token_mask_prefixes=("acmetok-",)) == b"acmetok-[MASKED] glpat-[MASKED]\n"
    assert job_log([], line) == b"acmetok-123456 glpat-[MASKED]\n"


def test_concurrent_jobs_each_mask_only_their_own_values() -> None:
    secrets = [f"job-{i}-secret-value-{i * 7919}" for i in range(8)]
    every_secret = " ".join(secrets).encode() + b"\n"
    logs: dict[int, bytes] = {}
    start = threading.Barrier(len(secrets))

    def run(i: int) -> None:
        start.wait()
        logs[i] = job_log([secrets[i]], *[every_secret] * 20)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(secrets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, secret in enumerate(secrets):
        expected = every_secret.replace(secret.encode(), b"[MASKED]")
        assert logs[i] == expected * 20


def test_a_finished_jobs_masked_values_are_no_longer_kept_in_the_cache() -> None:
    with TraceBuffer(masked=["kept-while-running-1"], timestamps=False) as log:
        log.set_masked(["kept-while-running-1", "also-running-2"])
        log.write(b"x\n")
        assert PHRASE_SETS.holds(b"kept-while-running-1")
        log.finish()
        assert not PHRASE_SETS.holds(b"kept-while-running-1")
        assert not PHRASE_SETS.holds(b"also-running-2")


def test_a_closed_but_unfinished_jobs_masked_values_are_no_longer_kept_in_the_cache() -> None:
    log = TraceBuffer(masked=["closed-early-secret"], timestamps=False)
    log.close()
    assert not PHRASE_SETS.holds(b"closed-early-secret")


def test_the_cache_keeps_at_most_its_bound_of_value_sets_while_many_jobs_run() -> None:
    count = PHRASE_SETS_MAX + 5
    logs = [TraceBuffer(masked=[f"running-job-secret-{i}"], timestamps=False) for i in range(count)]
    try:
        assert len(PHRASE_SETS) <= PHRASE_SETS_MAX
        # The oldest jobs' sets were dropped from the cache, yet their logs still mask with them.
        assert not PHRASE_SETS.holds(b"running-job-secret-0")
        logs[0].write(b"running-job-secret-0 running-job-secret-1\n")
        logs[0].finish()
        assert logs[0].bytes_since(0) == b"[MASKED] running-job-secret-1\n"
    finally:
        for log in logs:
            log.close()
    assert not any(PHRASE_SETS.holds(f"running-job-secret-{i}".encode()) for i in range(len(logs)))


def test_literal_set_cache_drops_the_least_recently_used_set() -> None:
    cache = LiteralSetCache(maxsize=2)
    a, b = cache.get((b"aaa",)), cache.get((b"bbb",))
    assert cache.get((b"aaa",)) is a  # a hit, and "aaa" is now the most recently used
    cache.get((b"ccc",))
    assert len(cache) == 2 and cache.holds(b"aaa") and not cache.holds(b"bbb")
    assert cache.get((b"bbb",)) is not b  # rebuilt after being dropped
    assert cache.get((b"bbb",)).present(b"x bbb y")


def test_both_setters_in_a_row_release_a_held_tail_once_and_then_mask_the_new_values() -> None:
    with TraceBuffer(masked=["abcd"], timestamps=False) as log:
        err = log.stream(STREAM_WORK, STDERR)
        err.write(b"xabc")  # held: it may still become "abcd"
        log.set_token_mask_prefixes(["newtok-"])
        log.set_masked(["other-value"])
        err.write(b"d other-value newtok-123 abcd\n")
        log.finish()
        assert log.bytes_since(0) == b"xabcd [MASKED] newtok-[MASKED] abcd\n"
