"""Go's ProxyFromEnvironment rules as runnerfleet applies them to the GitLab URL."""

from __future__ import annotations

import pytest

from runnerfleet.errors import ProxyError
from runnerfleet.gitlab.proxy import mask_proxy_url, parse_proxy_value, proxy_for_url

PROXY = "http://10.1.2.3:3128"


def chosen(url: str, **env: str) -> str | None:
    choice = proxy_for_url(url, env)
    return None if choice is None else f"{choice.url} <- {choice.source}"


def test_https_url_uses_https_proxy_not_http_proxy() -> None:
    assert chosen("https://gitlab.example.com", HTTP_PROXY="http://h:1") is None
    assert chosen("https://gitlab.example.com", HTTPS_PROXY=PROXY) == f"{PROXY} <- HTTPS_PROXY"


def test_http_url_uses_http_proxy_not_https_proxy() -> None:
    assert chosen("http://gitlab.example.com", HTTPS_PROXY=PROXY) is None
    assert chosen("http://gitlab.example.com", http_proxy=PROXY) == f"{PROXY} <- http_proxy"


def test_uppercase_variable_wins_over_lowercase_like_go() -> None:
    got = chosen("https://gitlab.example.com", HTTPS_PROXY="http://upper:1",
                 https_proxy="http://lower:2")
    assert got == "http://upper:1 <- HTTPS_PROXY"


def test_empty_uppercase_variable_falls_back_to_lowercase() -> None:
    got = chosen("https://gitlab.example.com", HTTPS_PROXY="", https_proxy="http://lower:2")
    assert got == "http://lower:2 <- https_proxy"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.0.0.1:3128", "http://10.0.0.1:3128"),
        ("proxy.corp:3128", "http://proxy.corp:3128"),
        ("http://proxy:8080", "http://proxy:8080"),
        ("https://proxy:8443", "https://proxy:8443"),
        ("socks5://proxy:1080", "socks5://proxy:1080"),
        ("user:pw@proxy:3128", "http://user:pw@proxy:3128"),
    ],
)
def test_proxy_value_without_scheme_means_http(value: str, expected: str) -> None:
    assert parse_proxy_value(value) == expected


@pytest.mark.parametrize(
    "url",
    ["http://localhost:8080", "https://LOCALHOST", "http://127.0.0.1:80", "http://127.9.9.9",
     "http://[::1]:8080", "http://[::ffff:127.0.0.1]:80"],
)
def test_loopback_targets_are_never_proxied(url: str) -> None:
    assert chosen(url, HTTP_PROXY=PROXY, HTTPS_PROXY=PROXY) is None


@pytest.mark.parametrize(
    ("no_proxy", "url"),
    [
        ("gitlab.example.com", "https://gitlab.example.com"),
        ("example.com", "https://gitlab.example.com"),
        (".example.com", "https://gitlab.example.com"),
        ("*.example.com", "https://gitlab.example.com"),
        ("*", "https://anything.example.org"),
        ("10.0.0.0/8", "https://10.20.30.40"),
        ("192.168.1.5", "https://192.168.1.5:8443"),
        ("gitlab.example.com:443", "https://gitlab.example.com"),
        ("gitlab.example.com:8443", "https://gitlab.example.com:8443"),
        (" other.org , GitLab.Example.com ", "https://gitlab.example.com"),
        ("fd00::/8", "https://[fd00::1]"),
        ("[fd00::1]:443", "https://[fd00::1]"),
    ],
)
def test_no_proxy_entry_makes_the_request_go_direct(no_proxy: str, url: str) -> None:
    assert chosen(url, HTTPS_PROXY=PROXY, NO_PROXY=no_proxy) is None


@pytest.mark.parametrize(
    ("no_proxy", "url"),
    [
        ("other.com", "https://gitlab.example.com"),
        (".example.com", "https://example.com"),  # a leading dot matches subdomains only
        ("ample.com", "https://gitlab.example.com"),  # suffix match is on whole labels
        ("gitlab.example.com:8443", "https://gitlab.example.com"),  # port must match
        ("10.0.0.0/8", "https://11.0.0.1"),
        ("192.168.1.5:22", "https://192.168.1.5"),
        ("*example.com", "https://gitlab.example.com"),  # prefix wildcards are not a thing
    ],
)
def test_non_matching_no_proxy_entry_still_proxies(no_proxy: str, url: str) -> None:
    assert chosen(url, HTTPS_PROXY=PROXY, NO_PROXY=no_proxy) == f"{PROXY} <- HTTPS_PROXY"


def test_uppercase_no_proxy_wins_over_lowercase() -> None:
    url = "https://gitlab.example.com"
    assert chosen(url, HTTPS_PROXY=PROXY, NO_PROXY="other.org",
                  no_proxy="gitlab.example.com") == f"{PROXY} <- HTTPS_PROXY"
    assert chosen(url, HTTPS_PROXY=PROXY, no_proxy="gitlab.example.com") is None


def test_http_proxy_in_a_cgi_environment_is_refused_like_go() -> None:
    with pytest.raises(ProxyError, match="REQUEST_METHOD"):
        proxy_for_url("http://gitlab.example.com", {"HTTP_PROXY": PROXY, "REQUEST_METHOD": "GET"})


def test_masked_proxy_url_hides_only_the_password() -> None:
    assert mask_proxy_url("http://corpuser:s3cret!@127.0.0.1:13129") == (
        "http://corpuser:***@127.0.0.1:13129"
    )
    assert mask_proxy_url("http://corpuser@proxy:3128") == "http://corpuser@proxy:3128"
    assert mask_proxy_url("http://proxy:3128") == "http://proxy:3128"


def test_unparseable_proxy_url_is_still_masked() -> None:
    assert mask_proxy_url("http://bob:hunter2@[bad:1080") == "http://bob:***@[bad:1080"
