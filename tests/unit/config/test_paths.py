"""Config paths, atomic 0600 saves, and the runner system ID file."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import stat
import tempfile
from pathlib import Path

import pytest

from runnerfleet.config import (
    ConfigFile,
    certs_dir,
    default_config_path,
    load_system_id,
    resolve_config_path,
)
from runnerfleet.errors import ConfigError
from tests.unit.config.samples import TYPICAL


def test_default_path_for_root_user_and_no_home() -> None:
    assert default_config_path(uid=0, home="/root") == Path("/etc/gitlab-runner/config.toml")
    assert default_config_path(uid=1000, home="/home/ci") == Path(
        "/home/ci/.gitlab-runner/config.toml"
    )
    assert default_config_path(uid=1000, home="", cwd="/srv/run") == Path("/srv/run/config.toml")


def test_resolve_prefers_flag_then_config_file_env_then_default() -> None:
    env = {"CONFIG_FILE": "/opt/env.toml", "HOME": "/home/ci"}
    assert resolve_config_path("/tmp/flag.toml", env) == Path("/tmp/flag.toml")
    assert resolve_config_path(None, env) == Path("/opt/env.toml")
    expected = default_config_path(home="/home/ci")
    assert resolve_config_path(None, {"HOME": "/home/ci"}) == expected


def test_certs_dir_is_next_to_the_config() -> None:
    assert certs_dir(Path("/etc/gitlab-runner/config.toml")) == Path("/etc/gitlab-runner/certs")


def test_save_creates_private_directory_and_0600_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    config_file = ConfigFile.load(path)
    config_file.add_runner({"name": "a", "url": "https://g/", "token": "t", "executor": "shell"})
    config_file.save()
    assert config_file.exists
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text() == config_file.dumps()
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml"]  # no temp files


def test_save_replaces_an_existing_file_and_tightens_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(TYPICAL)
    path.chmod(0o644)
    inode = path.stat().st_ino
    config_file = ConfigFile.load(path)
    config_file.set_global("concurrent", 3)
    config_file.save()
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == TYPICAL.replace("concurrent = 1", "concurrent = 3")


def test_failed_save_names_the_file_and_leaves_the_old_one(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(TYPICAL)
    config_file = ConfigFile.load(path)
    config_file.set_global("concurrent", 9)
    # Works as root too: the target's parent "directory" is a regular file.
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    config_file.path = blocker / "config.toml"
    with pytest.raises(ConfigError) as caught:
        config_file.save()
    assert str(caught.value).startswith(f"{blocker / 'config.toml'}: cannot save: ")
    assert path.read_text() == TYPICAL


def test_failed_rename_leaves_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "config.toml"
    target.mkdir()  # os.replace cannot put a file over a directory
    (target / "keep").write_text("x")
    config_file = ConfigFile.from_text(TYPICAL, path=target)
    with pytest.raises(ConfigError, match="cannot save"):
        config_file.save()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]
    assert (target / "keep").read_text() == "x"


def test_system_id_is_created_0600_and_reused(tmp_path: Path) -> None:
    system_id = load_system_id(tmp_path)
    assert re.fullmatch(r"[sr]_[0-9a-zA-Z]{12}", system_id)
    id_file = tmp_path / ".runner_system_id"
    assert id_file.read_text() == system_id
    assert stat.S_IMODE(id_file.stat().st_mode) == 0o600
    assert load_system_id(tmp_path) == system_id


def test_system_id_from_machine_id_is_stable() -> None:
    machine_id = Path("/etc/machine-id")
    if not machine_id.exists() or not machine_id.read_text().strip():
        pytest.skip("this host has no /etc/machine-id")
    expected = "s_" + hmac.new(machine_id.read_text().strip().encode(), b"gitlab-runner",
                               hashlib.sha256).hexdigest()[:12]
    with tempfile.TemporaryDirectory() as directory:
        assert load_system_id(Path(directory)) == expected


@pytest.mark.parametrize("content", ["", "garbage", "s_short", "x_abcdefghijkl", "s_abcdefghijk!"])
def test_invalid_system_id_is_replaced(tmp_path: Path, content: str) -> None:
    (tmp_path / ".runner_system_id").write_text(content)
    system_id = load_system_id(tmp_path)
    assert re.fullmatch(r"[sr]_[0-9a-zA-Z]{12}", system_id)
    assert (tmp_path / ".runner_system_id").read_text() == system_id


def test_valid_system_id_is_kept(tmp_path: Path) -> None:
    (tmp_path / ".runner_system_id").write_text("r_AbCdEf123456\n")
    assert load_system_id(tmp_path) == "r_AbCdEf123456"


def test_system_id_write_failure_is_tolerated(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    system_id = load_system_id(blocker)  # "directory" is a file: cannot write, still an ID
    assert re.fullmatch(r"[sr]_[0-9a-zA-Z]{12}", system_id)
    assert not os.path.isdir(blocker)
