"""Locate statements (headers, key/values, comments) of valid TOML text by character offsets.

Used to edit config.toml in place: every byte outside the edited statement stays as it was.
The text must already have been accepted by a TOML parser; this scanner only finds positions.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_DATE_TIME_GAP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:")
_SCALAR_END = " \t\r\n,]}#"


@dataclass
class Stmt:
    kind: str  # "table", "array" ([[...]]), "kv", "comment", "blank"
    key: tuple[str, ...]  # header path, or the (dotted) key of a key/value
    start: int  # offset of the line start
    end: int  # offset after the closing newline (or end of text)
    indent: str = ""
    value_start: int = 0
    value_end: int = 0
    table: tuple[str, ...] = ()  # for kv: the path of the header it sits under
    array_index: int = -1  # for statements under [[runners]]: which entry


class _Scanner:
    def __init__(self, text: str) -> None:
        self.t = text
        self.n = len(text)

    def ws(self, i: int) -> int:
        while i < self.n and self.t[i] in " \t":
            i += 1
        return i

    def ws_nl(self, i: int) -> int:
        """Skip whitespace, newlines and comments (inside arrays)."""
        while i < self.n:
            c = self.t[i]
            if c in " \t\r\n":
                i += 1
            elif c == "#":
                while i < self.n and self.t[i] != "\n":
                    i += 1
            else:
                break
        return i

    def line_end(self, i: int) -> int:
        j = self.t.find("\n", i)
        return self.n if j < 0 else j + 1

    def string(self, i: int) -> int:
        t = self.t
        for quote in ('"""', "'''"):
            if t.startswith(quote, i):
                j = i + 3
                while True:
                    j = t.find(quote, j)
                    if quote == '"""' and self._escaped(j):
                        j += 1
                        continue
                    j += 3
                    while j < self.n and t[j] == quote[0]:  # up to two extra quotes belong inside
                        j += 1
                    return j
        q = t[i]
        j = i + 1
        while t[j] != q:
            j += 2 if (q == '"' and t[j] == "\\") else 1
        return j + 1

    def _escaped(self, j: int) -> bool:
        k = j - 1
        count = 0
        while k >= 0 and self.t[k] == "\\":
            count += 1
            k -= 1
        return count % 2 == 1

    def key(self, i: int) -> tuple[tuple[str, ...], int]:
        parts: list[str] = []
        while True:
            i = self.ws(i)
            c = self.t[i]
            if c in "\"'":
                j = self.string(i)
                parts.append(tomllib.loads(f"k = {self.t[i:j]}")["k"])
            else:
                m = _BARE.match(self.t, i)
                if m is None:
                    raise ValueError(f"cannot read a key at offset {i}")
                j = m.end()
                parts.append(m.group(0))
            i = self.ws(j)
            if i < self.n and self.t[i] == ".":
                i += 1
                continue
            return tuple(parts), i

    def value(self, i: int) -> int:
        t = self.t
        c = t[i]
        if c in "\"'":
            return self.string(i)
        if c == "[":
            i = self.ws_nl(i + 1)
            while t[i] != "]":
                i = self.ws_nl(self.value(i))
                if t[i] == ",":
                    i = self.ws_nl(i + 1)
            return i + 1
        if c == "{":
            i = self.ws(i + 1)
            while t[i] != "}":
                _, i = self.key(i)
                i = self.ws(self.ws(i) + 1)  # past '='
                i = self.ws(self.value(i))
                if t[i] == ",":
                    i = self.ws(i + 1)
            return i + 1
        if _DATE_TIME_GAP.match(t, i):
            i += 11  # a datetime written with a space instead of 'T'
        while i < self.n and t[i] not in _SCALAR_END:
            i += 1
        return i


def scan(text: str) -> list[Stmt]:
    """Statements of `text` in order, each with its key path and offsets."""
    s = _Scanner(text)
    stmts: list[Stmt] = []
    table: tuple[str, ...] = ()
    counters: dict[tuple[str, ...], int] = {}
    runners_index = -1
    i = 0
    while i < s.n:
        start = i
        j = s.ws(i)
        indent = text[i:j]
        c = text[j] if j < s.n else "\n"
        if c in "\r\n":
            stmts.append(Stmt("blank", (), start, s.line_end(j), indent))
        elif c == "#":
            stmts.append(Stmt("comment", (), start, s.line_end(j), indent))
        elif c == "[":
            array = text.startswith("[[", j)
            key, k = s.key(j + (2 if array else 1))
            table = key
            if array:
                counters[key] = counters.get(key, -1) + 1
                if key == ("runners",):
                    runners_index = counters[key]
            if key[0] != "runners":
                runners_index = -1
            stmt = Stmt("array" if array else "table", key, start, s.line_end(k), indent)
            stmt.table = key
            stmt.array_index = runners_index
            stmts.append(stmt)
        else:
            key, k = s.key(j)
            vstart = s.ws(k + 1)
            vend = s.value(vstart)
            stmts.append(Stmt("kv", key, start, s.line_end(vend), indent, vstart, vend, table,
                              runners_index if table[:1] == ("runners",) else -1))
        i = stmts[-1].end
    return stmts
