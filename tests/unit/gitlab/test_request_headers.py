"""The headers every API request carries: httpx's client defaults, then the call's own."""

from __future__ import annotations

import httpx

from runnerfleet.gitlab.transport import merged_headers


def _as_httpx_client_merges(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    with httpx.Client(transport=httpx.BaseTransport()) as probe:
        expected = httpx.Headers(probe.headers)
    expected.update(headers)
    return expected.raw


def test_a_header_of_the_call_replaces_the_default_of_any_case_and_the_rest_follow_in_order() -> None:
    given = {"User-Agent": "gitlab-runner 17.0.0", "accept": "application/json",
             "JOB-TOKEN": "glcbt-secret", "X-Request-Id": "abc"}
    merged = httpx.Headers(merged_headers(given))
    assert merged.raw == _as_httpx_client_merges(given)
    assert merged["user-agent"] == "gitlab-runner 17.0.0"
    assert merged.get_list("accept") == ["application/json"]


def test_without_headers_of_its_own_a_call_sends_the_client_defaults() -> None:
    merged = httpx.Headers(merged_headers({}))
    assert merged.raw == _as_httpx_client_merges({})
    assert "accept-encoding" in merged and "connection" in merged
