"""runner_config: in-place config.toml edits that keep what the runner and people wrote."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from ansible_collections.runnerfleet.gitlab.plugins.module_utils.config_edit import (
    mask_secrets,
)
from ansible_collections.runnerfleet.gitlab.plugins.modules import runner_config

from tests.unit.plugins.collection import run_module

ROTATED = "glrt-t1_RotatedByTheRunner0001"
ORIGINAL = "glrt-t1_GivenAtRegistration0002"

EXISTING = f"""concurrent = 2
check_interval = 0

# the fleet's build runner; ask ops before touching
[[runners]]
  name = "build"
  url = "https://gitlab.example.com/"
  id = 7
  token = "{ROTATED}"
  token_obtained_at = 2026-10-01T08:00:00Z
  token_expires_at = 0001-01-01T00:00:00Z
  executor = "shell"
  future_key = "kept"
  [runners.cache]
    Type = "s3"
    [runners.cache.s3]
      ServerAddress = "s3.example.com"
      AccessKey = "AKIAEXAMPLEKEY"
      SecretKey = "s3-very-secret-key"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(EXISTING)
    path.chmod(0o600)
    return path


def args(path: Path, **given: object) -> dict[str, object]:
    return {"path": str(path), "name": "build", **given}


def test_changed_keys_are_written_and_comments_unknown_keys_and_rotated_token_stay(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module(runner_config.main, args(config, token=ORIGINAL, settings={"limit": 3}),
                        capsys)
    text = config.read_text()
    assert result["changed"] is True
    assert result["token_kept"] is True
    assert result["changed_keys"] == ["runners[0].limit"]
    assert "# the fleet's build runner; ask ops before touching" in text
    assert 'future_key = "kept"' in text
    assert f'token = "{ROTATED}"' in text and ORIGINAL not in text
    assert "token_obtained_at = 2026-10-01T08:00:00Z" in text
    assert "limit = 3" in text
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def test_a_second_run_with_the_same_settings_changes_nothing(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_module(runner_config.main, args(config, settings={"limit": 3}), capsys)
    before = config.read_text()
    result = run_module(runner_config.main, args(config, settings={"limit": 3}), capsys)
    assert result["changed"] is False
    assert result["changed_keys"] == []
    assert config.read_text() == before


def test_overwrite_token_replaces_a_different_token_and_stamps_it(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module(runner_config.main,
                        args(config, token=ORIGINAL, overwrite_token=True), capsys)
    text = config.read_text()
    assert result["changed"] is True and result["token_kept"] is False
    assert f'token = "{ORIGINAL}"' in text
    assert "token_obtained_at = 2026-10-01T08:00:00Z" not in text


def test_check_mode_writes_nothing_but_reports_the_change(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mtime = config.stat().st_mtime_ns
    result = run_module(runner_config.main, args(config, settings={"limit": 9}), capsys,
                        check=True, diff=True)
    assert result["changed"] is True
    assert "limit = 9" in result["diff"]["after"]
    assert config.read_text() == EXISTING
    assert config.stat().st_mtime_ns == mtime


def test_the_diff_masks_every_secret(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module(
        runner_config.main,
        args(config, settings={"environment": ["HTTPS_PROXY=http://bob:pr0xy-pass@proxy:3128",
                                               "DEPLOY_TOKEN=abc123xyz"]}),
        capsys, diff=True)
    shown = result["diff"]["before"] + result["diff"]["after"]
    for secret in (ROTATED, "s3-very-secret-key", "AKIAEXAMPLEKEY", "pr0xy-pass", "abc123xyz"):
        assert secret not in shown
    assert 'token = "RotatedBy…"' in result["diff"]["after"]
    assert "http://bob:***@proxy:3128" in result["diff"]["after"]


def test_a_new_entry_gets_token_id_and_a_fresh_obtained_at(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "etc" / "config.toml"
    result = run_module(runner_config.main, args(
        path, url="https://gitlab.example.com/", executor="shell", token=ORIGINAL, runner_id=12,
        token_expires_at="2027-01-01T00:00:00Z", global_settings={"concurrent": 4}), capsys)
    text = path.read_text()
    assert result["changed"] is True
    assert result["runner"] == {"name": "build", "index": 0, "url": "https://gitlab.example.com/",
                                "executor": "shell", "id": 12, "short_token": "GivenAtRe"}
    assert "id = 12" in text and "token_expires_at = 2027-01-01T00:00:00Z" in text
    assert "concurrent = 4" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_new_entry_without_token_is_refused_with_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    result = run_module(runner_config.main, args(path, url="https://g/", executor="shell"), capsys)
    assert result["failed"] is True
    assert "token is required to add it" in result["msg"]
    assert not path.exists()


def test_invalid_values_fail_one_line_each_with_key_path_and_nothing_is_written(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module(runner_config.main,
                        args(config, settings={"limit": "many", "docker": {"memory": "lots"}}),
                        capsys)
    assert result["failed"] is True
    assert result["msg"].splitlines() == [
        f'{config}: runners[0].limit: expected an integer, got "many"',
        f'{config}: runners[0].docker.memory: expected a size like "4g", got "lots"',
    ]
    assert config.read_text() == EXISTING


def test_state_absent_removes_only_that_entry(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module(runner_config.main, args(config, state="absent"), capsys)
    text = config.read_text()
    assert result["changed"] is True
    assert "[[runners]]" not in text and "concurrent = 2" in text


def test_global_settings_merge_into_tables(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module(runner_config.main, {"path": str(config), "global_settings": {
        "concurrent": 5, "session_server": {"listen_address": "[::]:8093"}}}, capsys)
    text = config.read_text()
    assert result["changed_keys"] == ["concurrent", "session_server.listen_address"]
    assert "concurrent = 5" in text and 'listen_address = "[::]:8093"' in text


def test_runner_owned_keys_in_settings_are_refused_naming_the_option(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module(runner_config.main, args(config, settings={"id": 3}), capsys)
    assert result["msg"] == "settings.id: set it with the option runner_id instead"


def test_two_entries_with_the_same_name_are_an_error(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config.write_text(EXISTING + EXISTING.split("\n", 3)[3])
    result = run_module(runner_config.main, args(config, settings={"limit": 1}), capsys)
    assert result["failed"] is True
    assert "2 [[runners]] entries are named 'build'" in result["msg"]


def test_a_config_readable_by_others_is_made_0600_again(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.chmod(config, 0o644)
    result = run_module(runner_config.main, args(config), capsys)
    assert result["changed"] is True
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def test_mask_secrets_leaves_plain_text_alone() -> None:
    text = 'concurrent = 1\n[[runners]]\n  name = "a"\n  token = ""\n'
    assert mask_secrets(text) == text
