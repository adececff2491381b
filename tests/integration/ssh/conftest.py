"""Fixtures for SSH executor tests: a key pair, an sshd container, a known_hosts file, a job world."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.build.helpers import World, make_world
from tests.integration.ssh.sshd import KeyPair, SshdContainer, ensure_test_image, make_key, start_sshd


@pytest.fixture(scope="session")
def test_image() -> None:
    ensure_test_image()


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


@pytest.fixture
def key(tmp_path: Path) -> KeyPair:
    return make_key(tmp_path)


@pytest.fixture
def sshd(test_image: None, key: KeyPair, world: World) -> Iterator[SshdContainer]:
    # The world's repository is mounted at the same path, so its file:// URL works on the target.
    container = start_sshd(key, mounts=[world.root / "acme"])
    try:
        yield container
    finally:
        container.remove()


@pytest.fixture
def known_hosts(tmp_path: Path, sshd: SshdContainer) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text(sshd.host_key_line + "\n")
    return path
