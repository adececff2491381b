"""`runnerfleet lint` / `ci lint`: GitLab's lint lines on stdout, exit 1 on errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from runnerfleet.cli import main

CORPUS = Path(__file__).parent / "corpus"


def test_lint_of_a_valid_file_says_syntax_is_correct(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(CORPUS / "payload.gitlab-ci.yml")]) == 0
    assert capsys.readouterr().out == "Syntax is correct\n"


def test_lint_prints_gitlab_error_with_job_and_key_and_exits_1(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ci", "lint", str(CORPUS / "unknown-key.gitlab-ci.yml")]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "Syntax is incorrect", "jobs:test config contains unknown keys: scirpt"]


def test_lint_reads_includes_relative_to_the_file(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "jobs.yml").write_text("build:\n  script: [make]\n")
    (tmp_path / ".gitlab-ci.yml").write_text("include: jobs.yml\n")
    assert main(["lint", str(tmp_path / ".gitlab-ci.yml")]) == 0
    assert "Syntax is correct" in capsys.readouterr().out


def test_lint_of_a_missing_file_is_one_error_line(tmp_path: Path) -> None:
    assert main(["lint", str(tmp_path / "nope.yml")]) == 1
