"""runner_service with `ansible`: unit, drop-in and 0600 env file in a temporary root, what the
service needs after each change, and the proxy password in no output."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.integration.collection.conftest import ENGINE_VENV, Ansible

PASSWORD = "c0rp-Pr0xy-pw"
PROXY = f"http://jdoe:{PASSWORD}@127.0.0.1:3128"


def args(root: Path, **given: object) -> dict[str, object]:
    return {"name": "runnerfleet", "unit_dir": str(root / "systemd"),
            "env_dir": str(root / "etc"), "engine_venv": ENGINE_VENV, "user": "gitlab-runner",
            "working_directory": "/home/gitlab-runner", "drain_timeout": "2h",
            "https_proxy": PROXY, "no_proxy": "localhost,127.0.0.1", **given}


def needs(result: dict[str, object]) -> tuple[object, object, object]:
    return result["needs_daemon_reload"], result["needs_restart"], result["needs_reload"]


def test_files_modes_and_what_the_service_needs_after_each_change(
    ansible: Ansible, tmp_path: Path
) -> None:
    first = ansible.adhoc("runner_service", args(tmp_path), "--diff", "-v")
    again = ansible.adhoc("runner_service", args(tmp_path))
    config_only = ansible.adhoc("runner_service", args(tmp_path, config_changed=True))
    longer_drain = ansible.adhoc("runner_service", args(tmp_path, drain_timeout="3h",
                                                        config_changed=True))
    unit = tmp_path / "systemd" / "runnerfleet.service"
    dropin = tmp_path / "systemd" / "runnerfleet.service.d" / "proxy.conf"
    env = tmp_path / "etc" / "runnerfleet-proxy.env"
    assert [o.rc for o in (first, again, config_only, longer_drain)] == [0, 0, 0, 0]
    assert needs(first.result) == (True, True, False)
    assert again.result["changed"] is False and needs(again.result) == (False, False, False)
    assert needs(config_only.result) == (False, False, True)
    assert needs(longer_drain.result) == (True, True, False)
    assert "TimeoutStopSec=3h" in unit.read_text().splitlines()
    assert f"EnvironmentFile={env}" in dropin.read_text().splitlines()
    assert f"HTTPS_PROXY='{PROXY}'" in env.read_text().splitlines()
    assert [stat.S_IMODE(p.stat().st_mode) for p in (unit, dropin, env)] == [0o644, 0o644, 0o600]
    assert PASSWORD not in unit.read_text() + dropin.read_text()
    shown = "".join(o.output for o in (first, again, config_only, longer_drain))
    assert "+KillSignal=SIGQUIT" in shown and "jdoe:***@127.0.0.1:3128" in shown
    assert PASSWORD not in shown


def test_check_mode_writes_nothing(ansible: Ansible, tmp_path: Path) -> None:
    outcome = ansible.adhoc("runner_service", args(tmp_path), "--check", "--diff")
    assert (outcome.rc, outcome.result["changed"]) == (0, True)
    assert needs(outcome.result) == (True, True, False)
    assert not (tmp_path / "systemd").exists() and not (tmp_path / "etc").exists()
    assert PASSWORD not in outcome.output
