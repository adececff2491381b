"""Interactive questions for `register`, asked only on a terminal and only for what is missing."""

from __future__ import annotations

import sys
from typing import TextIO

from runnerfleet.errors import UsageError


class Prompter:
    """Asks like gitlab-runner (`question`, then `[default]: `); without a terminal it refuses."""

    def __init__(self, interactive: bool, stdin: TextIO | None = None, stdout: TextIO | None = None):
        self.interactive = interactive
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout

    def ask(self, key: str, current: str | None, question: str, *, allow_empty: bool = False) -> str:
        """The flag's value if given, else the answer typed at the prompt.

        Non-interactive (flag `--non-interactive` or no terminal), a missing required value is the
        same fatal error gitlab-runner gives: "The <key> needs to be entered".
        """
        value = (current or "").strip()
        if not self.interactive:
            if not value and not allow_empty:
                raise UsageError(
                    f"The {key} needs to be entered (pass --{key} or its environment variable,"
                    " or run register in a terminal to be asked)"
                )
            return value
        while True:
            print(question, file=self.stdout)
            if value:
                print(f"[{value}]: ", end="", file=self.stdout)
            self.stdout.flush()
            line = self.stdin.readline()
            if line == "":
                raise UsageError(f"The {key} needs to be entered (input ended)")
            answer = line.strip()
            if answer:
                return answer
            if value or allow_empty:
                return value
