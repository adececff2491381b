"""GitLab's `if:` expressions (`Gitlab::Ci::Pipeline::Expression`): parse once, evaluate per variables.

Lexemes: `$VAR`, "string"/'string', /regexp/flags, `null`, `==`, `!=`, `=~`, `!~`, `&&`, `||`,
parentheses. `&&` binds tighter than `||`; comparisons bind tightest. A statement is true when its
value is "present" (Ruby `present?`): not null, not empty, not false.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class ExpressionError(ValueError):
    """The text is not a valid GitLab expression."""


@dataclass(frozen=True)
class Pattern:
    """A /regexp/flags literal, compiled with the RE2-compatible subset of Python's `re`."""

    source: str
    flags: str

    def compiled(self) -> re.Pattern[str]:
        return compile_pattern(self.source, self.flags)


_RE2_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\\[1-9]")


def compile_pattern(source: str, flags: str) -> re.Pattern[str]:
    # RE2 (GitLab's UntrustedRegexp) has no lookaround and no backreferences.
    if _RE2_UNSUPPORTED.search(source):
        raise ExpressionError(f"/{source}/ uses lookaround or backreferences, which RE2 lacks")
    value = 0
    for flag in flags:
        if flag == "i":
            value |= re.IGNORECASE
        elif flag in "ms":
            # Ruby's `m` (and RE2's `s`) let `.` match newlines.
            value |= re.DOTALL
        elif flag == "U":
            pass
        else:
            raise ExpressionError(f"unknown regexp flag {flag}")
    try:
        return re.compile(source.replace(r"\z", r"\Z").replace(r"\/", "/"), value)
    except re.error as exc:
        raise ExpressionError(str(exc)) from None


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<op>==|!=|=~|!~|&&|\|\||\(|\))
  | (?P<var>\$\w+)
  | (?P<dq>"[^"]*")
  | (?P<sq>'[^']*')
  | (?P<pattern>/(?:\\.|[^/\\])+/[ismU]*)
  | (?P<null>null\b)
""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ExpressionError(f"unknown token at {text[pos:pos + 10]!r}")
        kind = match.lastgroup or ""
        if kind != "ws":
            out.append((kind, match.group()))
        pos = match.end()
    return out


Node = tuple[Any, ...]


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExpressionError("unexpected end of expression")
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()}")
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.peek() == ("op", "||"):
            self.take()
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.comparison()
        while self.peek() == ("op", "&&"):
            self.take()
            node = ("and", node, self.comparison())
        return node

    def comparison(self) -> Node:
        node = self.primary()
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] in ("==", "!=", "=~", "!~"):
            self.take()
            right = self.primary()
            if token[1] in ("=~", "!~") and right[0] not in ("pattern", "var"):
                raise ExpressionError(f"{token[1]} needs a /regexp/ or a variable on its right")
            node = (token[1], node, right)
        return node

    def primary(self) -> Node:
        kind, text = self.take()
        if (kind, text) == ("op", "("):
            node = self.or_expr()
            if self.take() != ("op", ")"):
                raise ExpressionError("missing )")
            return node
        if kind == "var":
            return ("var", text[1:])
        if kind in ("dq", "sq"):
            return ("str", text[1:-1])
        if kind == "null":
            return ("null",)
        if kind == "pattern":
            end = text.rindex("/")
            pattern = Pattern(text[1:end], text[end + 1:])
            pattern.compiled()  # invalid regexps are syntax errors, as in GitLab
            return ("pattern", pattern)
        raise ExpressionError(f"unexpected {text}")


def present(value: Any) -> bool:
    """Ruby `present?`: null, "" and false are absent."""
    return value is not None and value != "" and value is not False


_PATTERN_TEXT = re.compile(r"^/(.+)/([ismU]*)$", re.DOTALL)


def _evaluate(node: Node, variables: Mapping[str, str]) -> Any:
    kind = node[0]
    if kind == "var":
        return variables.get(node[1])
    if kind == "str":
        return node[1]
    if kind == "null":
        return None
    if kind == "pattern":
        return node[1]
    if kind == "and":
        left = _evaluate(node[1], variables)
        return _evaluate(node[2], variables) if present(left) else left
    if kind == "or":
        left = _evaluate(node[1], variables)
        return left if present(left) else _evaluate(node[2], variables)
    left, right = _evaluate(node[1], variables), _evaluate(node[2], variables)
    if kind == "==":
        return left == right
    if kind == "!=":
        return left != right
    matched = _matches(left, right)
    return matched if kind == "=~" else not matched


def _matches(left: Any, right: Any) -> bool:
    if isinstance(right, str):
        # A variable holding "/regexp/flags" is used as that regexp (GitLab 15.0+).
        found = _PATTERN_TEXT.match(right)
        if not found:
            return False
        right = Pattern(found.group(1), found.group(2))
    if not isinstance(right, Pattern):
        return False
    try:
        regexp = right.compiled()
    except ExpressionError:
        return False
    # Ruby evaluates `nil.to_s`: an undefined variable is matched as "".
    return regexp.search("" if left is None else str(left)) is not None


@dataclass(frozen=True)
class Expression:
    """A parsed `if:` statement."""

    text: str
    tree: Node

    def evaluate(self, variables: Mapping[str, str]) -> bool:
        return present(_evaluate(self.tree, variables))


def parse_expression(text: str) -> Expression:
    """Parse `text`; ExpressionError when GitLab would call it an invalid expression syntax."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty expression")
    return Expression(text, _Parser(_tokens(text)).parse())


def evaluate(text: str, variables: Mapping[str, str]) -> bool:
    """Evaluate `text` against `variables` (undefined variables are null)."""
    return parse_expression(text).evaluate(variables)
