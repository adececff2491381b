"""The parts of the GitLab client that need no server: URL rule, info object, dates, tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runnerfleet import version
from runnerfleet.errors import TransportError
from runnerfleet.gitlab import GitLabClient, runner_info
from runnerfleet.gitlab.client import api_base_url
from runnerfleet.gitlab.info import FEATURE_KEYS
from runnerfleet.gitlab.models import parse_expiry
from runnerfleet.gitlab.ratelimit import parse_reset_time
from runnerfleet.tokens import shorten_token


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://gitlab.example.com", "https://gitlab.example.com/api/v4/"),
        ("https://gitlab.example.com/", "https://gitlab.example.com/api/v4/"),
        ("https://gitlab.example.com/ci", "https://gitlab.example.com/api/v4/"),
        ("https://gitlab.example.com/ci/", "https://gitlab.example.com/api/v4/"),
        ("https://host/gitlab", "https://host/gitlab/api/v4/"),
        ("http://127.0.0.1:8080//", "http://127.0.0.1:8080/api/v4/"),
    ],
)
def test_url_is_normalised_like_gitlab_runner(url: str, base: str) -> None:
    assert api_base_url(url) == base


@pytest.mark.parametrize("url", ["ftp://gitlab.example.com", "gitlab.example.com", "https://"])
def test_non_http_url_is_refused_with_one_clear_line(url: str) -> None:
    with pytest.raises(TransportError) as err:
        GitLabClient(url, env={})
    message = str(err.value)
    assert "\n" not in message
    assert repr(url) in message and "http://" in message and "https://" in message


def test_runner_info_has_every_feature_key_and_gitlab_runner_identity() -> None:
    info = runner_info(executor="shell", shell="bash", features={"variables": True},
                       labels={"zone": "a1"})
    assert info["name"] == "runnerfleet"
    assert info["version"] == version.COMPATIBLE_GITLAB_RUNNER_VERSION
    assert info["revision"] == version.REVISION
    assert info["platform"] == version.go_platform()
    assert info["architecture"] == version.go_arch()
    assert info["executor"] == "shell" and info["shell"] == "bash"
    assert set(info["features"]) == set(FEATURE_KEYS)
    assert info["features"]["variables"] is True
    assert [k for k, v in info["features"].items() if v] == ["variables"]
    assert info["config"] == {"gpus": ""}
    assert info["labels"] == {"zone": "a1"}


def test_runner_info_omits_empty_executor_shell_and_labels() -> None:
    info = runner_info()
    assert "executor" not in info and "shell" not in info and "labels" not in info
    assert len(info["features"]) == 31 and not any(info["features"].values())


def test_runner_info_refuses_an_unknown_feature_name() -> None:
    with pytest.raises(ValueError, match="varaibles"):
        runner_info(features={"varaibles": True})


def test_reset_time_accepts_rfc1123_dates_only() -> None:
    assert parse_reset_time("Tue, 05 Jan 2021 11:00:00 GMT") == datetime(2021, 1, 5, 11, tzinfo=UTC)
    for bad in ("2021-01-05T11:00:00Z", "Tue, 5 Jan 2021 11:00:00 GMT", "1609844400",
                "Tue, 05 Jan 2021 11:00:00 +0000", "Tue, 31 Feb 2021 11:00:00 GMT", "soon"):
        assert parse_reset_time(bad) is None, bad


def test_token_expiry_is_utc_aware() -> None:
    assert parse_expiry("2026-09-01T10:00:00.000Z") == datetime(2026, 9, 1, 10, tzinfo=UTC)
    assert parse_expiry("2026-09-01T12:00:00+02:00") == datetime(2026, 9, 1, 10, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_expiry("next tuesday")


def test_shortened_token_drops_prefixes_and_keeps_nine_characters() -> None:
    assert shorten_token("glrt-t1_abcdefghijklmnop") == "abcdefghi"
    assert shorten_token("glrt-abcdefghijklmnop") == "abcdefghi"
    assert shorten_token("GR1348941zyxwvutsrqpo") == "zyxwvutsr"
    assert shorten_token("t3_0123456789abcdef") == "012345678"


def test_unusable_socks_proxy_is_a_proxy_error_with_masked_password() -> None:
    from runnerfleet.errors import ProxyError

    try:
        import socksio  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        with pytest.raises(ProxyError) as err:
            GitLabClient("https://gitlab.example.com",
                         env={"HTTPS_PROXY": "socks5://bob:hunter2@127.0.0.1:1080"})
        assert "socks5://bob:***@127.0.0.1:1080 (from HTTPS_PROXY)" in str(err.value)
        assert "hunter2" not in str(err.value)
    else:
        with GitLabClient("https://gitlab.example.com",
                          env={"HTTPS_PROXY": "socks5://bob:hunter2@127.0.0.1:1080"}) as client:
            assert client.proxy_url_masked == "socks5://bob:***@127.0.0.1:1080"


def test_malformed_proxy_value_is_a_proxy_error_with_masked_password() -> None:
    from runnerfleet.errors import ProxyError

    with pytest.raises(ProxyError) as err:
        GitLabClient("https://gitlab.example.com",
                     env={"https_proxy": "http://bob:hunter2@[bad:1080"})
    assert "http://bob:***@[bad:1080 (from https_proxy) for https://gitlab.example.com/api/v4/ " \
        "is not a valid URL" in str(err.value)
    assert "hunter2" not in str(err.value)
