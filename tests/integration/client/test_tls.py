"""TLS to a coordinator serving a test CA's certificate: CA file, certs dir, and the failure line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runnerfleet.errors import TLSVerificationError
from runnerfleet.gitlab import GitLabClient, TLSSettings
from tests.fixtures.coordinator import RunningCoordinator
from tests.fixtures.tls import TestPKI

SYSTEM_ID = "s_0123456789ab"


def localhost_url(coordinator: RunningCoordinator) -> str:
    return coordinator.url.replace("127.0.0.1", "localhost")


def test_coordinator_url_is_https(tls_coordinator: RunningCoordinator) -> None:
    assert tls_coordinator.url.startswith("https://127.0.0.1:")


def test_tls_ca_file_setting_verifies_the_server(
    tls_coordinator: RunningCoordinator, test_pki: TestPKI
) -> None:
    with GitLabClient(tls_coordinator.url, env={},
                      tls=TLSSettings(ca_file=str(test_pki.ca_file))) as client:
        reg = client.register_runner(tls_coordinator.registration_token, run_untagged=True)
        assert client.tls_ca_file == test_pki.ca_file
    assert reg.id > 0


@pytest.mark.parametrize("use_name", [True, False], ids=["localhost.crt", "127.0.0.1.crt"])
def test_host_crt_in_certs_dir_verifies_the_server(
    tls_coordinator: RunningCoordinator, test_pki: TestPKI, tmp_path: Path, use_name: bool
) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    url = localhost_url(tls_coordinator) if use_name else tls_coordinator.url
    host = "localhost" if use_name else "127.0.0.1"
    shutil.copy(test_pki.ca_file, certs / f"{host}.crt")
    with GitLabClient(url, env={}, tls=TLSSettings(certs_dir=certs)) as client:
        assert client.register_runner(tls_coordinator.registration_token, run_untagged=True).id
        assert client.tls_ca_file == certs / f"{host}.crt"


def test_without_a_ca_the_failure_names_host_files_tried_and_fix(
    tls_coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    url = localhost_url(tls_coordinator)
    with GitLabClient(url, env={}, tls=TLSSettings(certs_dir=certs)) as client, \
            pytest.raises(TLSVerificationError) as err:
        client.verify_runner("glrt-whatever-token-12345", system_id=SYSTEM_ID)
    message = str(err.value)
    assert "\n" not in message
    assert "TLS verification of localhost failed" in message
    assert f"{certs}/localhost.crt (does not exist)" in message
    assert "the system trust store" in message
    assert f"put the CA certificate of localhost in {certs}/localhost.crt" in message
    assert "tls-ca-file" in message and "--tls-ca-file" in message
    assert "glrt-whatever" not in message
    assert err.value.url.startswith(url)


def test_a_ca_that_did_not_sign_the_server_is_listed_as_tried(
    tls_coordinator: RunningCoordinator, test_pki: TestPKI
) -> None:
    with GitLabClient(tls_coordinator.url, env={},
                      tls=TLSSettings(ca_file=str(test_pki.other_ca_file))) as client, \
            pytest.raises(TLSVerificationError) as err:
        client.register_runner(tls_coordinator.registration_token, run_untagged=True)
    message = str(err.value)
    assert f"CA files tried: {test_pki.other_ca_file}," in message
    assert "(does not exist)" not in message
    assert "TLS verification of 127.0.0.1 failed" in message


def test_a_ca_file_that_is_not_pem_is_named(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.crt"
    bogus.write_text("this is not a certificate\n")
    with pytest.raises(TLSVerificationError) as err:
        GitLabClient("https://gitlab.example.com", env={}, tls=TLSSettings(ca_file=str(bogus)))
    assert str(bogus) in str(err.value) and "not a valid PEM" in str(err.value)


def test_ssl_cert_file_from_the_environment_is_trusted(
    tls_coordinator: RunningCoordinator, test_pki: TestPKI
) -> None:
    with GitLabClient(tls_coordinator.url, env={"SSL_CERT_FILE": str(test_pki.ca_file)}) as c:
        assert c.register_runner(tls_coordinator.registration_token, run_untagged=True).id


def test_a_ca_dropped_into_the_certs_dir_later_is_picked_up(
    tls_coordinator: RunningCoordinator, test_pki: TestPKI, tmp_path: Path
) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    with GitLabClient(tls_coordinator.url, env={}, tls=TLSSettings(certs_dir=certs)) as client:
        with pytest.raises(TLSVerificationError):
            client.register_runner(tls_coordinator.registration_token, run_untagged=True)
        shutil.copy(test_pki.ca_file, certs / "127.0.0.1.crt")
        assert client.register_runner(tls_coordinator.registration_token, run_untagged=True).id


def test_client_certificate_pair_in_certs_dir_is_used_without_error(
    tls_coordinator: RunningCoordinator, test_pki: TestPKI, tmp_path: Path
) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(test_pki.ca_file, certs / "127.0.0.1.crt")
    shutil.copy(test_pki.client_cert, certs / "127.0.0.1.auth.crt")
    shutil.copy(test_pki.client_key, certs / "127.0.0.1.auth.key")
    with GitLabClient(tls_coordinator.url, env={}, tls=TLSSettings(certs_dir=certs)) as client:
        assert client.register_runner(tls_coordinator.registration_token, run_untagged=True).id


def test_mismatched_client_certificate_and_key_are_named(
    test_pki: TestPKI,
) -> None:
    with pytest.raises(TLSVerificationError) as err:
        GitLabClient("https://gitlab.example.com", env={},
                     tls=TLSSettings(cert_file=str(test_pki.client_cert),
                                     key_file=str(test_pki.server_key)))
    message = str(err.value)
    assert str(test_pki.client_cert) in message and str(test_pki.server_key) in message
    assert "tls-cert-file" in message
