"""What `exec` prints: job log lines prefixed by the job name, then a summary table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TextIO

# gitlab-runner's per-line header (FF_TIMESTAMPS) and its collapsible-section markers.
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z [0-9a-f]{2}[OE][ +]")
_SECTION = re.compile(r"section_(?:start|end):\d+:[^\r\n]*\r(?:\x1b\[0K)?")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_COLOURS = (36, 33, 35, 32, 34, 91, 96, 93, 95, 92, 94)


def clean(line: str, *, colour: bool) -> str:
    line = _SECTION.sub("", _TIMESTAMP.sub("", line))
    line = line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r")
    return line if colour else _ANSI.sub("", line)


class LogPrinter:
    """Prints each job's new log lines as `name | line`, coloured per job on a terminal."""

    def __init__(self, out: TextIO, names: list[str], *, colour: bool) -> None:
        self.out = out
        self.colour = colour
        self.width = max((len(n) for n in names), default=0)
        self._offsets: dict[int, int] = {}
        self._partial: dict[int, bytes] = {}
        self._index: dict[str, int] = {n: i for i, n in enumerate(names)}

    def _prefix(self, name: str) -> str:
        text = f"{name:<{self.width}} |"
        if not self.colour:
            return text
        code = _COLOURS[self._index.get(name, 0) % len(_COLOURS)]
        return f"\x1b[{code}m{text}\x1b[0m"

    def note(self, name: str, text: str) -> None:
        """A line of exec's own about a job (not from its log)."""
        self.out.write(f"{self._prefix(name)} {text}\n")
        self.out.flush()

    def offset(self, job_id: int) -> int:
        """How many bytes of this job's log were fed so far."""
        return self._offsets.get(job_id, 0)

    def feed(self, job_id: int, name: str, new: bytes, *, final: bool) -> None:
        """Print the complete lines of `new` (the log's bytes after `offset(job_id)`)."""
        data = self._partial.pop(job_id, b"") + new
        self._offsets[job_id] = self.offset(job_id) + len(new)
        lines = data.split(b"\n")
        rest = lines.pop()
        if final and rest:
            lines.append(rest)
        elif rest:
            self._partial[job_id] = rest
        for raw in lines:
            line = clean(raw.decode("utf-8", "replace"), colour=self.colour)
            self.out.write(f"{self._prefix(name)} {line}\n")
        self.out.flush()


@dataclass
class Row:
    job: str
    stage: str
    status: str
    duration: float | None
    allow_failure: bool


def summary(out: TextIO, rows: list[Row]) -> None:
    """A table of job, stage, status (with "allowed to fail") and duration."""
    table = [("JOB", "STAGE", "STATUS", "DURATION")]
    for r in rows:
        status = r.status + (" (allowed to fail)" if r.status == "failed" and r.allow_failure
                             else "")
        table.append((r.job, r.stage, status,
                      "-" if r.duration is None else f"{r.duration:.1f}s"))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    out.write("\n")
    for row in table:
        out.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() + "\n")
    out.flush()
