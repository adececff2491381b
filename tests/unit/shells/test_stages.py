"""Stage scripts: wrapper structure, exports, user command echo, sections, layout and predefined vars."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from runnerfleet.job import JobPayload, JobVariables, Variable
from runnerfleet.shells import (
    BuildInfo,
    ShellScriptError,
    generate,
    predefined_variables,
    project_dir,
    short_token,
    tmp_dir,
)


def _build(tmp_path: Path, *, steps: list[Any] | None = None, variables: list[Variable] | None = None,
           **kwargs: Any) -> BuildInfo:
    payload = JobPayload.from_json({
        "id": 1, "token": "glcbt-secret", "features": {"trace_sections": kwargs.pop("sections", False)},
        "steps": steps if steps is not None else [{"name": "script", "script": ["echo hi"]}],
    })
    return BuildInfo(payload=payload, project_dir=str(tmp_path / "p"), builds_dir=str(tmp_path),
                     variables=JobVariables(variables or []), **kwargs)


def _run(script: str, shell: str = "bash") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([shell], input=script.encode(), capture_output=True, check=False)


def test_the_script_has_the_strict_wrapper_structure(tmp_path: Path) -> None:
    script = generate("step_script", _build(tmp_path))
    assert script is not None
    lines = script.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "trap 'exit 1' TERM" in lines
    assert "if set -o | grep pipefail > /dev/null; then set -o pipefail; fi; set -o errexit" in lines
    assert "set +o noclobber" in lines
    assert lines[-2].startswith("( trap 'exit 1' TERM; eval $'") and lines[-2].endswith(") < /dev/null")
    assert lines[-1] == "exit 0"
    assert "set -o xtrace" not in lines


def test_ci_debug_trace_turns_on_xtrace_unless_disabled(tmp_path: Path) -> None:
    debug = [Variable("CI_DEBUG_TRACE", "true")]
    assert "set -o xtrace" in (generate("step_script", _build(tmp_path, variables=debug)) or "")
    disabled = _build(tmp_path, variables=debug, debug_trace_disabled=True)
    assert "set -o xtrace" not in (generate("step_script", disabled) or "")


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_commands_are_echoed_in_green_then_run_with_build_hooks_around(tmp_path: Path, shell: str) -> None:
    (tmp_path / "p").mkdir()
    build = _build(tmp_path, steps=[{"name": "script", "script": ["echo one", "", "echo a\necho b"]}],
                   pre_build_script="echo pre", post_build_script="echo post")
    result = _run(generate("step_script", build, shell) or "", shell)
    assert result.returncode == 0, result.stderr
    g, r = "\x1b[32;1m", "\x1b[0;m"
    assert result.stdout.decode() == (
        f"{g}$ echo pre{r}\npre\n{g}$ echo one{r}\none\n\n"
        f"{g}$ echo a # collapsed multi-line command{r}\na\nb\n{g}$ echo post{r}\npost\n"
    )


def test_the_first_failing_command_ends_the_step_with_its_exit_code(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    build = _build(tmp_path, steps=[{"name": "script", "script": ["echo a", "(exit 7)", "echo never"]}])
    result = _run(generate("step_script", build) or "")
    assert result.returncode == 7
    assert b"never\n" not in result.stdout


def test_a_failure_inside_a_pipeline_fails_the_step_in_bash(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    build = _build(tmp_path, steps=[{"name": "script", "script": ["false | cat", "echo never"]}])
    assert _run(generate("step_script", build) or "").returncode == 1


def test_section_markers_wrap_the_stage_only_when_gitlab_supports_them(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    with_sections = _run(generate("step_script", _build(tmp_path, sections=True)) or "").stdout.decode()
    lines = with_sections.rstrip("\n").split("\n")
    assert lines[0].startswith("section_start:") and lines[0].endswith(":step_script\r\x1b[0K")
    assert lines[-1].startswith("section_end:") and lines[-1].endswith(":step_script\r\x1b[0K")
    assert lines[0].split(":")[1].isdigit()
    without = _run(generate("step_script", _build(tmp_path)) or "").stdout.decode()
    assert "section_" not in without


def test_later_variables_win_and_raw_ones_are_not_expanded(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    variables = [Variable("A", "first"), Variable("B", "b-$A"), Variable("A", "second"),
                 Variable("R", "$A", raw=True), Variable("bad-name", "x")]
    build = _build(tmp_path, variables=variables,
                   steps=[{"name": "script", "script": ['printf "%s|%s|%s\\n" "$A" "$B" "$R"']}])
    result = _run(generate("step_script", build) or "")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines()[-1] == "second|b-second|$A"


def test_stages_without_work_return_none(tmp_path: Path) -> None:
    build = _build(tmp_path)
    for stage in ("after_script", "step_release", "restore_cache", "download_artifacts", "archive_cache",
                  "archive_cache_on_failure", "upload_artifacts_on_success", "upload_artifacts_on_failure"):
        assert generate(stage, build) is None


def test_an_unknown_submodule_strategy_is_a_one_line_error(tmp_path: Path) -> None:
    build = _build(tmp_path, variables=[Variable("GIT_SUBMODULE_STRATEGY", "deep")])
    with pytest.raises(ShellScriptError, match=r"^GIT_SUBMODULE_STRATEGY: unknown value 'deep'"):
        generate("get_sources", build)


def test_an_invalid_git_strategy_warns_and_uses_the_default(tmp_path: Path) -> None:
    build = _build(tmp_path, variables=[Variable("GIT_STRATEGY", "copy")])
    assert build.git_strategy() == ("clone", "WARNING: invalid GIT_STRATEGY 'copy', using 'clone'")


def test_unknown_stage_and_shell_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown stage"):
        generate("make_coffee", _build(tmp_path))
    with pytest.raises(ValueError, match="unsupported shell"):
        generate("step_script", _build(tmp_path), "fish")


@pytest.mark.parametrize(
    ("token", "short"),
    [("glrt-abcdefghijkl", "abcdefghi"), ("glrt-t2_ZZZZZZZZZZZ", "ZZZZZZZZZ"),
     ("GR1348941abcdefghijk", "abcdefghi"),
     ("glcbt-123456789012", "123456789"), ("plaintoken12345", "plaintoke")],
)
def test_short_token_strips_known_prefixes_and_keeps_nine_characters(token: str, short: str) -> None:
    assert short_token(token) == short


def test_project_dir_layout_for_shared_and_isolated_executors() -> None:
    url = "https://gitlab-ci-token:tok@gitlab.test/acme/sub/webapp.git"
    assert project_dir("/b", "abcdefghi", 2, url, 12, True) == "/b/abcdefghi/2/acme/sub/webapp"
    assert project_dir("/builds", "abcdefghi", 2, url, 12, False) == "/builds/acme/sub/webapp"
    assert project_dir("/builds", "x", 0, url, 12, False, "empty") == "/builds/acme/sub/webapp-empty"
    assert project_dir("/builds", "x", 0, "https://gitlab.test/", 12, False) == "/builds/project-12"
    assert tmp_dir("/builds/acme/webapp") == "/builds/acme/webapp.tmp"


def test_predefined_variables_follow_the_precedence_order() -> None:
    payload = JobPayload.from_json({
        "id": 1, "token": "t", "image": {"name": "alpine:$V"}, "runner_info": {"timeout": 600},
        "variables": [{"key": "V", "value": "3"}, {"key": "CI_PROJECT_DIR", "value": "/evil"},
                      {"key": "ENV_A", "value": "job"}, {"key": "FF_X", "value": "true"}],
    })
    variables = predefined_variables(
        payload, runner_token="glrt-abcdefghijk", builds_dir="/b", project_dir="/b/p", tmp_dir="/b/p.tmp",
        concurrent_id=1, concurrent_project_id=0, shared=True, feature_flags={"FF_X": False},
        environment=["ENV_A=runner", "ENV_B=runner"], tls_ca_file="PEM",
    )
    keys = [v.key for v in variables]
    assert keys[:3] == ["FF_X", "CI_JOB_IMAGE", "CI_RUNNER_SHORT_TOKEN"]
    assert variables.get("FF_X") == "false"  # resolved flags, not the raw job variable
    assert variables.get("CI_JOB_IMAGE") == "alpine:3"
    assert variables.get("CI_RUNNER_SHORT_TOKEN") == "abcdefghi"
    assert variables.get("ENV_A") == "job" and variables.get("ENV_B") == "runner"
    # A job variable appears after the directory variables, so it wins on lookup.
    assert variables.get("CI_PROJECT_DIR") == "/evil"
    assert variables.get("CI_JOB_TIMEOUT") == "600" and variables.get("CI_SERVER") == "yes"
    assert variables.get("CI_SHARED_ENVIRONMENT") == "true" and "CI_DISPOSABLE_ENVIRONMENT" not in variables
    assert variables.get("RUNNER_TEMP_PROJECT_DIR") == "/b/p.tmp"
    ca = variables.find("CI_SERVER_TLS_CA_FILE")
    assert ca is not None and ca.file and ca.value == "PEM"


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_git_config_files_written_by_the_script_read_back_in_git(tmp_path: Path, shell: str) -> None:
    """The template and credential configs, written by printf instead of `git config -f`, hold
    exactly the values git reads (quotes, backslashes, spaces and `#` included)."""
    from runnerfleet.shells.stages import git_config_text
    from runnerfleet.shells.writer import ShellWriter

    odd = str(tmp_path / 'a dir # with "quotes" and \\ backslash' / "ext.conf")
    text = git_config_text([
        ("include", None, "path", odd),
        ("url", "https://gitlab-ci-token:glcbt-x@h.example/g/p.git", "insteadOf", "https://h.example/g/p.git"),
        ("url", "https://gitlab-ci-token:glcbt-x@h.example", "insteadOf", "https://h.example"),
    ])
    w = ShellWriter(shell)
    target = str(tmp_path / "config")
    w.write_text(target, text, private=True)
    subprocess.run([shell, "-c", "\n".join(w.lines)], check=True)
    listed = subprocess.run(["git", "config", "-f", target, "--list"], capture_output=True,
                            text=True, check=True).stdout.splitlines()
    assert listed == [
        f"include.path={odd}",
        "url.https://gitlab-ci-token:glcbt-x@h.example/g/p.git.insteadof=https://h.example/g/p.git",
        "url.https://gitlab-ci-token:glcbt-x@h.example.insteadof=https://h.example",
    ]
    assert (Path(target).stat().st_mode & 0o777) == 0o600


@pytest.mark.parametrize("value", ["none", "/tmp/a dir/x.conf", " lead", "trail ", "semi;colon",
                                   "hash#tag", 'quote"d', "back\\slash", "tab\tand\nnewline"])
def test_git_config_text_is_byte_for_byte_what_git_config_writes(tmp_path: Path,
                                                                 value: str) -> None:
    from runnerfleet.shells.stages import git_config_text

    by_git = tmp_path / "by-git"
    # A subsection name cannot hold a newline (git refuses the key), a value can.
    subsection = "https://gitlab-ci-token:x@h/" + value.replace("\n", "")
    entries = [("include", None, "path", value), ("url", subsection, "insteadOf", value)]
    for section, subsection, key, item in entries:
        name = f"{section}.{subsection}.{key}" if subsection else f"{section}.{key}"
        subprocess.run(["git", "config", "-f", str(by_git), name, item], check=True)
    assert git_config_text(entries) == by_git.read_text()
