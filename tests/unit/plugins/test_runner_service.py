"""runner_service: unit, proxy drop-in and 0600 proxy env file, and what the service then needs."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.runnerfleet.gitlab.plugins.modules import runner_service

from runnerfleet.systemd.unit import ServiceSpec, exec_quote, render_unit
from tests.unit.plugins.collection import run_module

PROXY = "http://bob:Pr0xy%25Pass@127.0.0.1:3128"


def args(root: Path, **given: Any) -> dict[str, Any]:
    return {"unit_dir": str(root / "units"), "env_dir": str(root / "env"),
            "engine_venv": "/opt/runnerfleet/venv", "user": "gitlab-runner", **given}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_unit_runs_the_engine_with_graceful_stop_and_sighup_reload() -> None:
    unit = render_unit(ServiceSpec(
        name="rf", executable="/opt/runnerfleet/venv/bin/runnerfleet",
        config_file="/etc/gitlab-runner/config.toml", working_directory="/home/gitlab-runner",
        user="gitlab-runner", drain_timeout="2h"))
    lines = unit.splitlines()
    assert ('ExecStart="/opt/runnerfleet/venv/bin/runnerfleet" "run" "--config" '
            '"/etc/gitlab-runner/config.toml" "--working-directory" "/home/gitlab-runner" '
            '"--service" "rf"') in lines
    for line in ("KillSignal=SIGQUIT", "KillMode=mixed", "TimeoutStopSec=2h",
                 "ExecReload=/bin/kill -HUP $MAINPID", "User=gitlab-runner",
                 "WantedBy=multi-user.target"):
        assert line in lines


def test_exec_arguments_escape_quotes_specifiers_and_variables() -> None:
    assert exec_quote('/srv/a "b"/50%/$HOME') == '"/srv/a \\"b\\"/50%%/$$HOME"'


def test_first_run_writes_unit_dropin_and_0600_env_and_needs_a_restart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module(runner_service.main, args(tmp_path, https_proxy=PROXY,
                                                  no_proxy="localhost"), capsys)
    unit = tmp_path / "units" / "runnerfleet.service"
    dropin = tmp_path / "units" / "runnerfleet.service.d" / "proxy.conf"
    env = tmp_path / "env" / "runnerfleet-proxy.env"
    assert result["changed"] is True
    assert (result["needs_daemon_reload"], result["needs_restart"], result["needs_reload"]) == (
        True, True, False)
    assert "Pr0xy" not in unit.read_text() + dropin.read_text()
    assert f"EnvironmentFile={env}" in dropin.read_text().splitlines()
    assert f"HTTPS_PROXY='{PROXY}'" in env.read_text().splitlines()
    assert "NO_PROXY='localhost'" in env.read_text().splitlines()
    assert (mode(unit), mode(dropin), mode(env)) == (0o644, 0o644, 0o600)


def test_nothing_to_do_on_the_second_run_and_a_config_change_only_needs_a_reload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_module(runner_service.main, args(tmp_path, https_proxy=PROXY), capsys)
    again = run_module(runner_service.main, args(tmp_path, https_proxy=PROXY), capsys)
    reload = run_module(runner_service.main, args(tmp_path, https_proxy=PROXY,
                                                  config_changed=True), capsys)
    assert again["changed"] is False
    assert (again["needs_daemon_reload"], again["needs_restart"], again["needs_reload"]) == (
        False, False, False)
    assert reload["changed"] is False
    assert (reload["needs_restart"], reload["needs_reload"]) == (False, True)


def test_a_new_proxy_password_needs_a_restart_but_no_daemon_reload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_module(runner_service.main, args(tmp_path, https_proxy=PROXY), capsys)
    result = run_module(runner_service.main, args(
        tmp_path, https_proxy=PROXY.replace("Pr0xy", "N3w"), config_changed=True), capsys,
        diff=True)
    assert result["changed_files"] == [str(tmp_path / "env" / "runnerfleet-proxy.env")]
    assert (result["needs_daemon_reload"], result["needs_restart"], result["needs_reload"]) == (
        False, True, False)
    assert "N3w" not in str(result) and "Pr0xy" not in str(result)
    assert "http://bob:***@127.0.0.1:3128" in result["diff"][0]["after"]


def test_dropping_the_proxy_removes_dropin_and_env_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_module(runner_service.main, args(tmp_path, https_proxy=PROXY), capsys)
    result = run_module(runner_service.main, args(tmp_path), capsys)
    assert result["needs_daemon_reload"] is True and result["needs_restart"] is True
    assert not (tmp_path / "env" / "runnerfleet-proxy.env").exists()
    assert not (tmp_path / "units" / "runnerfleet.service.d").exists()


def test_check_mode_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module(runner_service.main, args(tmp_path, https_proxy=PROXY), capsys,
                        check=True, diff=True)
    assert result["changed"] is True and result["needs_restart"] is True
    assert len(result["diff"]) == 3
    assert not (tmp_path / "units").exists() and not (tmp_path / "env").exists()


def test_a_unit_file_with_another_mode_is_fixed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_module(runner_service.main, args(tmp_path, https_proxy=PROXY), capsys)
    env = tmp_path / "env" / "runnerfleet-proxy.env"
    env.chmod(0o644)
    result = run_module(runner_service.main, args(tmp_path, https_proxy=PROXY), capsys)
    assert result["changed_files"] == [str(env)]
    assert mode(env) == 0o600


def test_state_absent_removes_everything_and_needs_a_daemon_reload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_module(runner_service.main, args(tmp_path, https_proxy=PROXY), capsys)
    result = run_module(runner_service.main, args(tmp_path, state="absent"), capsys)
    assert result["needs_daemon_reload"] is True and result["needs_restart"] is False
    assert list((tmp_path / "units").iterdir()) == []


@pytest.mark.parametrize(("given", "message"), [
    ({"drain_timeout": "soon"}, "drain_timeout 'soon' is not a systemd time span"),
    ({"name": "my runner"}, "name 'my runner' is not a systemd unit name"),
    ({"config_file": "config.toml"}, "config_file must be an absolute path"),
    ({"drain_timeout": 30, "bogus": 1}, "Unsupported parameters for"),
])
def test_bad_options_fail_with_one_line_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], given: dict[str, Any], message: str
) -> None:
    result = run_module(runner_service.main, args(tmp_path, **given), capsys)
    assert result["failed"] is True
    assert result["msg"].startswith(message)
    assert "\n" not in result["msg"]
    assert not (tmp_path / "units").exists()


def test_an_engine_older_than_the_collection_is_one_line_naming_what_it_lacks() -> None:
    from ansible_collections.runnerfleet.gitlab.plugins.module_utils.engine import (
        EngineMissing,
        require_engine_module,
    )

    with pytest.raises(EngineMissing) as raised:
        require_engine_module("runnerfleet.no_such_part", "/opt/runnerfleet/venv")
    assert str(raised.value) == (
        "the runnerfleet engine in /opt/runnerfleet/venv is older than this collection (it has "
        "no runnerfleet.no_such_part); install the engine with role runnerfleet.gitlab.runner "
        "first (it upgrades the engine)")
    require_engine_module("runnerfleet.systemd.unit", None)  # this engine has it
