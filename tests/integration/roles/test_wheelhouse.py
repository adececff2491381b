"""The controller-side wheelhouse builder of role runnerfleet.gitlab.runner: what it refuses (one
line, exit status 1) and that the tarball it ships is byte-for-byte reproducible, so copying it to
hosts is idempotent."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "runner" / "files" / "wheelhouse.py"


def wheelhouse_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wheelhouse", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_a_collection_without_engine_source_is_refused(tmp_path: Path) -> None:
    (tmp_path / "galaxy.yml").write_text("namespace: x\n")
    done = run("--source", str(tmp_path), "--cache", str(tmp_path / "cache"), "--target=3.11:x86_64:2.36")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "has no engine source (pyproject.toml and src/)" in done.stderr
    assert "ansible-galaxy collection build" in done.stderr


def test_a_host_python_older_than_3_11_is_refused(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    done = run("--source", str(root), "--cache", str(tmp_path / "cache"), "--target=3.9:x86_64:2.31")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "wheelhouse: the runnerfleet engine needs Python 3.11 or later; a host has 3.9: "
        "set runner_python to a newer interpreter on that host")
    assert not list((tmp_path / "cache").glob("*.tar"))


def test_a_malformed_target_is_named(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    done = run("--source", str(root), "--cache", str(tmp_path / "cache"), "--target=python3")
    assert done.returncode == 1
    assert "target 'python3' is not PYTHON_VERSION:MACHINE:GLIBC_VERSION" in done.stderr


def test_the_tarball_is_reproducible(tmp_path: Path) -> None:
    wheelhouse = wheelhouse_module()
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name in ("b-1.0-py3-none-any.whl", "a-2.0-py3-none-any.whl"):
        (wheels / name).write_bytes(name.encode() * 100)
    first, second = tmp_path / "one.tar", tmp_path / "two.tar"
    wheelhouse.write_tarball(wheels, first)
    (wheels / "a-2.0-py3-none-any.whl").touch()  # a newer mtime must not matter
    wheelhouse.write_tarball(wheels, second)
    assert first.read_bytes() == second.read_bytes()


def test_every_manylinux_level_up_to_the_hosts_glibc_is_offered() -> None:
    wheelhouse = wheelhouse_module()
    tags = wheelhouse.platforms("aarch64", 19)
    assert tags == ["manylinux_2_19_aarch64", "manylinux_2_18_aarch64", "manylinux_2_17_aarch64",
                    "manylinux2014_aarch64"]
