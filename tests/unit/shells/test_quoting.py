"""Quoting round trips: values echoed by generated scripts come out byte for byte under bash and sh."""

from __future__ import annotations

import subprocess

import pytest

from runnerfleet.shells import ShellWriter

TRICKY = [
    "plain",
    "",
    "it's",
    'say "hi"',
    "a\nb\n",
    "$HOME ${HOME} $(id) `id`",
    "back\\slash \\n \\x41 \\\\",
    "tab\tcr\rbell\x07esc\x1b[0m",
    "ünïcödé ✓ 日本",
    "-n",
    "--",
    "*?[a]",
    "'\"'$'\"",
    "trailing space ",
]


@pytest.mark.parametrize("shell", ["bash", "sh"])
@pytest.mark.parametrize("value", TRICKY)
def test_an_exported_value_reaches_the_command_unchanged(shell: str, value: str) -> None:
    w = ShellWriter(shell)
    w.export("TRICKY", value)
    w.line("printf '%s' \"$TRICKY\"")
    result = subprocess.run([shell], input=w.finish().encode(), capture_output=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == value.encode()


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_echoed_text_is_printed_verbatim(shell: str) -> None:
    w = ShellWriter(shell)
    for value in TRICKY:
        w.echo(value)
    result = subprocess.run([shell], input=w.finish().encode(), capture_output=True, check=False)
    assert result.stdout == "".join(v + "\n" for v in TRICKY).encode()


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_a_file_written_by_the_script_holds_the_value_without_trailing_newline(
    shell: str, tmp_path: object
) -> None:
    from pathlib import Path

    target = Path(str(tmp_path)) / "VAR"
    value = "line1\nline2 $X 'q' \\ ✓"
    w = ShellWriter(shell)
    w.write_file(str(target), value)
    subprocess.run([shell], input=w.finish().encode(), check=True)
    assert target.read_bytes() == value.encode()
    assert target.stat().st_mode & 0o777 == 0o600
