"""A command line loads the module of the command it names, not every command's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runnerfleet.cli import build_parser, command_of


def test_the_command_is_found_after_global_options_with_values() -> None:
    assert command_of(["--log-level", "debug", "--debug", "run", "--config", "x"]) == "run"
    assert command_of(["-l", "info", "exec", "build"]) == "exec"
    assert command_of(["--help"]) is None


def test_lint_runs_without_loading_the_http_stack(tmp_path: Path) -> None:
    ci = tmp_path / ".gitlab-ci.yml"
    ci.write_text("job:\n  script: [echo hi]\n")
    probe = ("import sys; from runnerfleet.cli import main; code = main(['lint', sys.argv[1]]); "
             "print(code, 'httpx' in sys.modules, 'runnerfleet.cli.register' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe, str(ci)], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split()[-3:] == ["0", "False", "False"], done.stdout + done.stderr


def test_help_and_unknown_commands_still_see_every_command() -> None:
    text = build_parser().format_help()
    for name in ("register", "run-single", "cache-extractor", "ci", "exec", "coordinator",
                 "install", "status"):
        assert name in text
    done = subprocess.run([sys.executable, "-m", "runnerfleet", "regster"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 1 and "Command regster not found." in done.stderr
