"""The client through a real squid: env proxy selection, NO_PROXY, auth, and failure lines."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from runnerfleet.errors import ProxyError, TransportError
from runnerfleet.gitlab import GitLabClient, TLSSettings
from tests.fixtures.coordinator import RunningCoordinator
from tests.fixtures.proxies import PROXY_PASSWORD, PROXY_USER, RunningProxy, free_port
from tests.fixtures.tls import PROXIED_HOST, TestPKI


def named_url(coordinator: RunningCoordinator) -> str:
    """The coordinator under a name only squid can resolve (loopback literals skip proxies)."""
    port = urlsplit(coordinator.url).port
    scheme = urlsplit(coordinator.url).scheme
    return f"{scheme}://{PROXIED_HOST}:{port}"


def proxied_lines(proxy: RunningProxy) -> list[str]:
    return [line for line in proxy.access_lines() if PROXIED_HOST in line]


def register(client: GitLabClient, coordinator: RunningCoordinator) -> int:
    return client.register_runner(coordinator.registration_token, run_untagged=True).id


def test_http_proxy_carries_the_request_to_gitlab(
    coordinator: RunningCoordinator, squid: RunningProxy
) -> None:
    env = {"HTTP_PROXY": squid.url()}
    with GitLabClient(named_url(coordinator), env=env) as client:
        assert client.proxy_url_masked == squid.url()
        assert register(client, coordinator) > 0
    line = squid.wait_for_line(f"POST http://{PROXIED_HOST}:")
    assert "/api/v4/runners" in line and "TCP_MISS/201" in line
    assert len(proxied_lines(squid)) == 1


def test_lowercase_http_proxy_is_used_too(
    coordinator: RunningCoordinator, squid: RunningProxy
) -> None:
    with GitLabClient(named_url(coordinator), env={"http_proxy": squid.url()}) as client:
        register(client, coordinator)
    assert "/api/v4/runners" in squid.wait_for_line(f"POST http://{PROXIED_HOST}:")


def test_proxy_without_scheme_is_taken_as_http(
    coordinator: RunningCoordinator, squid: RunningProxy
) -> None:
    env = {"HTTP_PROXY": f"127.0.0.1:{squid.port}"}
    with GitLabClient(named_url(coordinator), env=env) as client:
        register(client, coordinator)
    assert "/api/v4/runners" in squid.wait_for_line(f"POST http://{PROXIED_HOST}:")


def test_authenticating_proxy_sees_the_user(
    coordinator: RunningCoordinator, squid_auth: RunningProxy
) -> None:
    with GitLabClient(named_url(coordinator), env={"HTTP_PROXY": squid_auth.url()}) as client:
        assert client.proxy_url_masked == f"http://{PROXY_USER}:***@127.0.0.1:{squid_auth.port}"
        register(client, coordinator)
    line = squid_auth.wait_for_line(f"POST http://{PROXIED_HOST}:")
    assert f" {PROXY_USER} " in line and "TCP_MISS/201" in line


def test_wrong_proxy_password_names_the_masked_proxy_and_variable(
    coordinator: RunningCoordinator, squid_auth: RunningProxy
) -> None:
    wrong = "not-the-password"
    env = {"HTTP_PROXY": squid_auth.url(password=wrong)}
    with GitLabClient(named_url(coordinator), env=env) as client, \
            pytest.raises(ProxyError) as err:
        register(client, coordinator)
    message = str(err.value)
    assert f"http://{PROXY_USER}:***@127.0.0.1:{squid_auth.port}" in message
    assert "HTTP_PROXY" in message and "407" in message
    assert wrong not in message and PROXY_PASSWORD not in message
    assert "\n" not in message


def test_closed_proxy_port_is_a_proxy_error_naming_it(coordinator: RunningCoordinator) -> None:
    port = free_port()
    env = {"HTTPS_PROXY": f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{port}",
           "HTTP_PROXY": f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{port}"}
    with GitLabClient(named_url(coordinator), env=env) as client, \
            pytest.raises(ProxyError) as err:
        register(client, coordinator)
    message = str(err.value)
    assert f"cannot reach the proxy http://{PROXY_USER}:***@127.0.0.1:{port}" in message
    assert "(from HTTP_PROXY)" in message
    assert PROXY_PASSWORD not in message


@pytest.mark.parametrize("no_proxy", [PROXIED_HOST, ".runnerfleet.test", "runnerfleet.test", "*"])
def test_no_proxy_match_goes_direct(
    coordinator: RunningCoordinator, squid: RunningProxy, no_proxy: str
) -> None:
    env = {"HTTP_PROXY": squid.url(), "NO_PROXY": no_proxy}
    with GitLabClient(named_url(coordinator), env=env) as client:
        assert client.proxy_url_masked is None
        with pytest.raises(TransportError) as err:
            register(client, coordinator)
    # Direct means this host resolves the name itself, which only squid's hosts_file knows.
    assert not isinstance(err.value, ProxyError)
    assert f"cannot resolve the host {PROXIED_HOST}" in str(err.value)
    assert str(squid.port) not in str(err.value)
    assert proxied_lines(squid) == []


def test_non_matching_no_proxy_still_uses_the_proxy(
    coordinator: RunningCoordinator, squid: RunningProxy
) -> None:
    env = {"HTTP_PROXY": squid.url(), "NO_PROXY": "gitlab.example.com,.corp.internal,10.0.0.0/8"}
    with GitLabClient(named_url(coordinator), env=env) as client:
        register(client, coordinator)
    assert "/api/v4/runners" in squid.wait_for_line(f"POST http://{PROXIED_HOST}:")


def test_loopback_gitlab_is_never_proxied(
    coordinator: RunningCoordinator, squid: RunningProxy
) -> None:
    with GitLabClient(coordinator.url, env={"HTTP_PROXY": squid.url()}) as client:
        assert client.proxy_url_masked is None
        register(client, coordinator)
    assert [line for line in squid.access_lines() if "/api/v4/" in line] == []


def test_https_gitlab_through_proxy_uses_connect(
    tls_coordinator: RunningCoordinator, squid_auth: RunningProxy, test_pki: TestPKI
) -> None:
    env = {"HTTPS_PROXY": squid_auth.url(), "HTTP_PROXY": "http://127.0.0.1:9"}
    with GitLabClient(named_url(tls_coordinator), env=env,
                      tls=TLSSettings(ca_file=str(test_pki.ca_file))) as client:
        assert register(client, tls_coordinator) > 0
    line = squid_auth.wait_for_line(f"CONNECT {PROXIED_HOST}:")
    assert f" {PROXY_USER} " in line and "/200 " in line


def test_https_proxy_refusing_connect_names_the_masked_proxy(
    tls_coordinator: RunningCoordinator, squid_auth: RunningProxy, test_pki: TestPKI
) -> None:
    env = {"https_proxy": squid_auth.url(password="wrong")}
    with GitLabClient(named_url(tls_coordinator), env=env,
                      tls=TLSSettings(ca_file=str(test_pki.ca_file))) as client, \
            pytest.raises(ProxyError) as err:
        register(client, tls_coordinator)
    message = str(err.value)
    assert f"http://{PROXY_USER}:***@127.0.0.1:{squid_auth.port} (from https_proxy)" in message
    assert "407" in message and "wrong" not in message


def test_tinyproxy_with_basic_auth_in_front_of_squid_carries_the_request(
    coordinator: RunningCoordinator, tinyproxy_chain: RunningProxy, squid: RunningProxy
) -> None:
    with GitLabClient(named_url(coordinator), env={"HTTP_PROXY": tinyproxy_chain.url()}) as c:
        assert register(c, coordinator) > 0
    assert "/api/v4/runners" in tinyproxy_chain.wait_for_line(f"POST http://{PROXIED_HOST}:")
    assert "TCP_MISS/201" in squid.wait_for_line(f"POST http://{PROXIED_HOST}:")


def test_tinyproxy_refusing_connect_is_a_proxy_error(
    tls_coordinator: RunningCoordinator, tinyproxy_chain: RunningProxy, test_pki: TestPKI
) -> None:
    env = {"HTTPS_PROXY": tinyproxy_chain.url(password="wrong")}
    with GitLabClient(named_url(tls_coordinator), env=env,
                      tls=TLSSettings(ca_file=str(test_pki.ca_file))) as client, \
            pytest.raises(ProxyError) as err:
        register(client, tls_coordinator)
    message = str(err.value)
    assert f"http://{PROXY_USER}:***@127.0.0.1:{tinyproxy_chain.port} (from HTTPS_PROXY)" in message
    assert "check the user and password in HTTPS_PROXY" in message and "wrong" not in message
