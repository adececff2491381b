"""runner_config with `ansible`: round trip keeping a comment and a rotated token, masked diffs,
check mode, and no secret in any output."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.integration.collection.conftest import ENGINE_VENV, Ansible

ROTATED = "glrt-t2_TokenTheRunnerRotated77"
GIVEN = "glrt-t2_TokenFromRegistration11"
SSH_PASSWORD = "ssh-Pa55word-xyz"
PROXY_PASSWORD = "proxy-Secret-42"

CONFIG = f"""concurrent = 1
check_interval = 0
shutdown_timeout = 0

# deploy runner: managed by ansible, keep the comment
[[runners]]
  name = "deploy"
  url = "https://gitlab.example.com/"
  id = 31
  token = "{ROTATED}"
  token_obtained_at = 2026-11-01T10:00:00Z
  token_expires_at = 2026-12-01T10:00:00Z
  executor = "ssh"
  [runners.ssh]
    host = "10.0.0.5"
    user = "deploy"
    password = "{SSH_PASSWORD}"
"""


def args(path: Path, **given: object) -> dict[str, object]:
    return {"path": str(path), "name": "deploy", "url": "https://gitlab.example.com/",
            "executor": "ssh", "token": GIVEN, "engine_venv": ENGINE_VENV,
            "settings": {"limit": 2,
                         "environment": [f"HTTPS_PROXY=http://ci:{PROXY_PASSWORD}@proxy:3128"],
                         "ssh": {"host": "10.0.0.6", "password": SSH_PASSWORD}},
            "global_settings": {"concurrent": 4}, **given}


def test_round_trip_keeps_comment_and_rotated_token_and_masks_every_secret(
    ansible: Ansible, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    path.chmod(0o600)
    first = ansible.adhoc("runner_config", args(path), "--diff", "-v")
    second = ansible.adhoc("runner_config", args(path), "--diff", "-v")
    text = path.read_text()
    assert (first.rc, first.result["changed"], first.result["token_kept"]) == (0, True, True)
    assert (second.rc, second.result["changed"]) == (0, False)
    assert "# deploy runner: managed by ansible, keep the comment" in text
    assert f'token = "{ROTATED}"' in text and GIVEN not in text
    assert "token_expires_at = 2026-12-01T10:00:00Z" in text
    assert 'host = "10.0.0.6"' in text and "limit = 2" in text and "concurrent = 4" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    shown = first.output + second.output
    assert "+  limit = 2" in shown and '-    host = "10.0.0.5"' in shown
    assert first.result["runner"]["short_token"] == "TokenTheR"
    for secret in (ROTATED, GIVEN, SSH_PASSWORD, PROXY_PASSWORD):
        assert secret not in shown


def test_check_mode_writes_nothing(ansible: Ansible, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    before = path.stat().st_mtime_ns
    outcome = ansible.adhoc("runner_config", args(path), "--check", "--diff")
    assert (outcome.rc, outcome.result["changed"]) == (0, True)
    assert path.read_text() == CONFIG and path.stat().st_mtime_ns == before
    new = tmp_path / "new" / "config.toml"
    created = ansible.adhoc("runner_config", args(new), "--check")
    assert (created.rc, created.result["changed"]) == (0, True)
    assert not new.exists()


def test_an_invalid_setting_fails_naming_the_key_and_leaves_the_file(
    ansible: Ansible, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    outcome = ansible.adhoc("runner_config", args(path, settings={"limit": "lots"}))
    assert outcome.rc != 0
    assert outcome.result["msg"] == f'{path}: runners[0].limit: expected an integer, got "lots"'
    assert path.read_text() == CONFIG
    assert "Traceback" not in outcome.output and SSH_PASSWORD not in outcome.output
