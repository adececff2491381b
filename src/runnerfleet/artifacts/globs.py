"""`**` glob patterns as gitlab-runner matches artifact and cache paths (doublestar semantics).

`*` and `?` stay inside one path segment, `**` as a whole segment spans any number of
directories (including none), `[...]`/`[!...]` are character classes, `{a,b}` alternatives, and
`\\` escapes. Walking never follows symbolic links: a link to a directory is matched as itself.
"""

from __future__ import annotations

import os
import posixpath
import re
from functools import lru_cache

META = "*?[{"


def has_meta(pattern: str) -> bool:
    return any(ch in pattern for ch in META)


def split_pattern(pattern: str) -> tuple[str, str]:
    """(base, rest): the literal directory before the first meta character, and the pattern after it."""
    first = min((pattern.find(ch) for ch in META if ch in pattern), default=-1)
    if first < 0:
        return pattern, ""
    slash = pattern.rfind("/", 0, first)
    if slash < 0:
        return ".", pattern
    return (pattern[:slash] or "/"), pattern[slash + 1:]


def _class_end(pattern: str, start: int) -> int:
    """Index of the `]` closing the class that opens at `start`, or -1."""
    i = start + 1
    if i < len(pattern) and pattern[i] in "!^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "]":
            return i
        i += 1
    return -1


def _brace_end(pattern: str, start: int) -> tuple[int, list[str]]:
    """Index of the matching `}` and the top-level alternatives, or (-1, [])."""
    depth, i, last = 0, start, start + 1
    parts: list[str] = []
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            end = _class_end(pattern, i)
            i = end + 1 if end >= 0 else i + 1
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                parts.append(pattern[last:i])
                return i, parts
        elif ch == "," and depth == 1:
            parts.append(pattern[last:i])
            last = i + 1
        i += 1
    return -1, []


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        segment_start = i == 0 or pattern[i - 1] == "/"
        if ch == "/" and pattern[i + 1:] == "**":
            out.append("(?:/.*)?")  # `dir/**` also matches `dir` itself
            break
        if pattern.startswith("**", i) and segment_start and (i + 2 == n or pattern[i + 2] == "/"):
            if i + 2 == n:
                out.append(".*")
                i += 2
            else:
                out.append("(?:.*/)?")
                i += 3
            continue
        if ch == "*":
            while i < n and pattern[i] == "*":
                i += 1
            out.append("[^/]*")
            continue
        if ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = _class_end(pattern, i)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:end]
                negate = body[:1] in ("!", "^")
                if negate:
                    body = body[1:]
                body = body.replace("\\", "\\\\").replace("[", "\\[")
                out.append(f"[^/{body}]" if negate else f"[{body}]")
                i = end
        elif ch == "{":
            end, parts = _brace_end(pattern, i)
            if end < 0:
                out.append(re.escape(ch))
            else:
                out.append("(?:" + "|".join(_translate(p) for p in parts) + ")")
                i = end
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The regular expression that matches exactly the paths `pattern` matches."""
    try:
        return re.compile(_translate(pattern), re.DOTALL)
    except re.error:
        # A malformed class or range: match it literally rather than fail the job.
        return re.compile(re.escape(pattern), re.DOTALL)


def match(pattern: str, path: str) -> bool:
    """Whether the slash-separated `path` matches `pattern` as a whole."""
    return compile_pattern(pattern).fullmatch(path) is not None


def _max_depth(rest: str) -> int | None:
    """How many segments below the base a match can be; None when `**` or braces make it unbounded."""
    if "**" in rest or "{" in rest:
        return None
    return rest.count("/") + 1


def glob(pattern: str, root: str = ".") -> list[str]:
    """Paths (relative to `root`, slash-separated) matching `pattern`, without following symlinks."""
    pattern = pattern.rstrip("/") if pattern not in ("/", "") else pattern
    if not has_meta(pattern):
        return [pattern] if os.path.lexists(os.path.join(root, pattern)) else []
    base, rest = split_pattern(pattern)
    regex = compile_pattern(pattern)
    start = os.path.join(root, base)
    found: list[str] = []
    if base != "." and regex.fullmatch(base) and os.path.lexists(start):
        found.append(base)
    if not os.path.isdir(start) or os.path.islink(start):
        return found
    limit = _max_depth(rest)
    for current, dirs, files in os.walk(start, followlinks=False):
        rel_dir = os.path.relpath(current, root)
        depth = 0 if current == start else os.path.relpath(current, start).count(os.sep) + 1
        for name in dirs + files:
            rel = posixpath.join(rel_dir, name) if rel_dir != "." else name
            if regex.fullmatch(rel):
                found.append(rel)
        if limit is not None and depth + 1 >= limit:
            dirs[:] = []  # deeper directories cannot match
        else:
            dirs.sort()
    return found
