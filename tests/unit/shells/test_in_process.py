"""Runner-side stages and the forks scripts no longer need: prepare text, pipefail, quoting."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from runnerfleet.build.layout import JobLayout, build_info
from runnerfleet.config import RunnerConfig
from runnerfleet.executors import ExecutorEnvironment
from runnerfleet.job import JobPayload, JobVariables, Variable
from runnerfleet.shells import BuildInfo, generate, in_process_stage


class Sink:
    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)


def _build(tmp_path: Path, *, variables: list[Variable] | None = None, **kwargs: Any) -> BuildInfo:
    payload = JobPayload.from_json({
        "id": 1, "token": "glcbt-secret", "allow_git_fetch": True,
        "features": {"trace_sections": kwargs.pop("sections", False)},
        "steps": kwargs.pop("steps", [{"name": "script", "script": ["echo hi"]}]),
    })
    return BuildInfo(payload=payload, project_dir=str(tmp_path / "p"), builds_dir=str(tmp_path),
                     variables=JobVariables(variables or []), **kwargs)


def _run(script: str | None, shell: str = "bash") -> subprocess.CompletedProcess[bytes]:
    assert script is not None
    return subprocess.run([shell], input=script.encode(), capture_output=True, check=False)


def test_remote_executors_prepare_names_the_target_host_and_the_runner_host(tmp_path: Path) -> None:
    result = _run(generate("prepare_script", _build(tmp_path, runner_host='ci "$HOME" `x`')))
    assert result.stdout.decode() == f'Running on {socket.gethostname()} via ci "$HOME" `x`...\n'


def test_prepare_on_the_runners_host_prints_the_same_line_without_asking_hostname(tmp_path: Path) -> None:
    script = generate("prepare_script", _build(tmp_path, local_hostname=socket.gethostname()))
    assert script is not None and "$(hostname)" not in script
    assert _run(script).stdout.decode() == f"Running on {socket.gethostname()}...\n"
    plain = generate("prepare_script", _build(tmp_path))
    assert _run(plain).stdout == _run(script).stdout


def test_bash_known_to_be_bash_sets_pipefail_without_the_grep_probe(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    steps = [{"name": "script", "script": ["false | true", "echo not reached"]}]
    exact = generate("step_script", _build(tmp_path, steps=steps, exact_shell=True))
    assert exact is not None and "grep pipefail" not in exact
    assert "set -o pipefail; set -o errexit" in exact.splitlines()
    result = _run(exact)
    assert result.returncode == 1 and b"not reached" not in result.stdout
    for shell, build in (("sh", _build(tmp_path, exact_shell=True)), ("bash", _build(tmp_path))):
        assert "if set -o | grep pipefail" in (generate("step_script", build, shell) or "")


def test_a_value_ending_in_a_newline_is_exported_intact(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    steps = [{"name": "script", "script": ['printf "[%s]" "$TOKEN"', 'wc -c < "$TOKEN_FILE"']}]
    build = _build(tmp_path, steps=steps, variables=[
        Variable("TOKEN", "abc\n"), Variable("TOKEN_FILE", "abc\n", file=True)])
    result = _run(generate("step_script", build))
    assert result.returncode == 0, result.stderr
    assert b"\n[abc\n]" in result.stdout and result.stdout.endswith(b"\n4\n")


def test_get_sources_does_not_repeat_the_invalid_strategy_warning(tmp_path: Path) -> None:
    build = _build(tmp_path, variables=[Variable("GIT_STRATEGY", "copy")])
    assert "GIT_STRATEGY" not in (generate("get_sources", build) or "").replace("GIT_STRATEGY=copy", "")


def test_get_sources_without_git_is_file_work_and_a_notice(tmp_path: Path) -> None:
    build = _build(tmp_path, variables=[Variable("GIT_STRATEGY", "none"),
                                        Variable("SECRET", "s3cr3t", file=True)])
    stage = in_process_stage("get_sources", build)
    assert stage is not None
    out = Sink()
    assert stage.run(out)
    assert out.data == b"\x1b[32;1mSkipping Git repository setup\x1b[0;m\n"
    secret = Path(build.tmp_dir) / "SECRET"
    assert secret.read_text() == "s3cr3t" and secret.stat().st_mode & 0o777 == 0o600
    assert (Path(build.tmp_dir) / "gitlab_runner_env").is_file() and Path(build.project_dir).is_dir()

    cleanup = in_process_stage("cleanup_file_variables", build)
    assert cleanup is not None and cleanup.run(out)
    assert not secret.exists() and not (Path(build.tmp_dir) / "gitlab_runner_env").exists()


@pytest.mark.parametrize("variables", [
    [Variable("GIT_STRATEGY", "fetch")],
    [Variable("GIT_STRATEGY", "clone")],
    [Variable("GIT_STRATEGY", "none"), Variable("CI_DEBUG_TRACE", "true")],
    [Variable("GIT_STRATEGY", "none"), Variable("EUID", "0")],
    [Variable("GIT_STRATEGY", "none"), Variable("BLOB", "a\x00b", file=True)],
])
def test_stages_the_shell_must_run_have_no_in_process_form(tmp_path: Path, variables: list[Variable]) -> None:
    assert in_process_stage("get_sources", _build(tmp_path, variables=variables)) is None


def test_section_markers_written_by_the_script_keep_it_a_script(tmp_path: Path) -> None:
    build = _build(tmp_path, sections=True, variables=[Variable("GIT_STRATEGY", "none")])
    assert in_process_stage("get_sources", build) is None
    assert in_process_stage("cleanup_file_variables", build) is None
    assert in_process_stage("step_script", _build(tmp_path)) is None


def test_an_in_process_stage_declines_without_output_when_a_file_is_in_the_way(tmp_path: Path) -> None:
    build = _build(tmp_path, variables=[Variable("GIT_STRATEGY", "none")])
    Path(build.tmp_dir).write_text("in the way\n")
    stage = in_process_stage("get_sources", build)
    assert stage is not None
    out = Sink()
    assert stage.run(out) is False and out.data == b""


def test_cleanup_removes_a_read_only_git_template(tmp_path: Path) -> None:
    build = _build(tmp_path)
    hooks = Path(build.tmp_dir) / "git-template" / "hooks"
    hooks.mkdir(parents=True)
    (hooks / "pre-commit").write_text("#!/bin/sh\n")
    (hooks / "pre-commit").chmod(0o500)
    hooks.chmod(0o500)
    stage = in_process_stage("cleanup_file_variables", build)
    assert stage is not None and stage.run(Sink())
    assert not (Path(build.tmp_dir) / "git-template").exists()


@pytest.mark.parametrize(("runner_command", "show_hostname", "via"), [
    (None, None, False),  # shell executor: scripts run on the runner's host
    ("runnerfleet", None, True),  # docker, ssh, virtualbox name their target's helper
    ("runnerfleet", False, False),
    (None, True, True),
])
def test_prepare_names_the_runner_host_when_scripts_run_elsewhere(
        tmp_path: Path, runner_command: str | None, show_hostname: bool | None, via: bool) -> None:
    env = ExecutorEnvironment(shell="bash", builds_dir=str(tmp_path), cache_dir=str(tmp_path), shared=False,
                              runner_command=runner_command, show_hostname=show_hostname)
    layout = JobLayout(builds_dir=str(tmp_path), cache_dir=str(tmp_path), project_dir=str(tmp_path / "p"),
                       tmp_dir=str(tmp_path / "p.tmp"), variables=JobVariables())
    info = build_info(_build(tmp_path).payload, RunnerConfig(name="r", token="t", executor="docker"), env,
                      layout, {})
    line = _run(generate("prepare_script", info)).stdout.decode()
    host = socket.gethostname()
    assert line == (f"Running on {host} via {host}...\n" if via else f"Running on {host}...\n")
