"""Test helpers: file trees and a reporter that keeps its lines."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

from runnerfleet.artifacts.report import Reporter

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Lines(Reporter):
    """A reporter writing into memory; `text` is the log without colours."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        super().__init__(self.buffer)

    @property
    def text(self) -> str:
        return _ANSI.sub("", self.buffer.getvalue())


def tree(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def listing(root: Path) -> dict[str, str]:
    """rel path → "dir", "link:<target>" or file content, for every entry below root."""
    out: dict[str, str] = {}
    for current, dirs, files in os.walk(root):
        for name in dirs + files:
            full = Path(current) / name
            rel = str(full.relative_to(root))
            if full.is_symlink():
                out[rel] = "link:" + os.readlink(full)
            elif full.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = full.read_bytes().decode("utf-8", "replace")
    return out
