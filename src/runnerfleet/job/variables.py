"""Job variables: the ordered list, later-wins lookup and gitlab-runner's `$VAR` expansion."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import overload

# Go's os.Expand treats these single characters after `$` as a complete name; gitlab-runner keeps
# them literally (they are shell parameters, not CI variables), except `$$` which is an escaped `$`.
_SHELL_SPECIAL = frozenset("*#$@!?-0123456789")


@dataclass(frozen=True)
class Variable:
    """One job variable as GitLab sends it (`file`/`raw` only present when true)."""

    key: str
    value: str
    public: bool = False
    masked: bool = False
    file: bool = False
    raw: bool = False


def _is_name_char(c: str) -> bool:
    return c == "_" or ("0" <= c <= "9") or ("a" <= c <= "z") or ("A" <= c <= "Z")


def _shell_name(s: str) -> tuple[str, int]:
    """Go's getShellName: the name after `$` in `s` and how many characters it used."""
    if s[0] == "{":
        if len(s) > 2 and s[1] in _SHELL_SPECIAL and s[2] == "}":
            return s[1], 3
        for i in range(1, len(s)):
            if s[i] == "}":
                if i == 1:
                    return "", 2  # `${}`: bad syntax, both characters are dropped
                return s[1:i], i + 1
        return "", 1  # `${` without `}`: bad syntax, dropped
    if s[0] in _SHELL_SPECIAL:
        return s[0], 1
    i = 0
    while i < len(s) and _is_name_char(s[i]):
        i += 1
    return s[:i], i


def _expand(text: str, get: Callable[[str], str]) -> str:
    """`text` with `$VAR`/`${VAR}` replaced by `get(VAR)`, by gitlab-runner's rules (see expand)."""
    if "$" not in text:
        return text
    out: list[str] = []
    start = 0
    j = 0
    n = len(text)
    while j < n:
        if text[j] == "$" and j + 1 < n:
            out.append(text[start:j])
            name, width = _shell_name(text[j + 1 :])
            if name == "" and width > 0:
                pass  # bad syntax: eaten
            elif name == "" or name == "$":
                out.append("$")
            elif len(name) == 1 and name in _SHELL_SPECIAL:
                out.append("$" + name)
            else:
                out.append(get(name))
            j += width
            start = j + 1
        j += 1
    out.append(text[start:])
    return "".join(out)


def _last_values(items: Iterable[Variable]) -> Callable[[str], str]:
    """One lookup table for all references: later entries overwrite earlier ones, so the last
    value of a key wins (as `JobVariables.get`); unknown names are empty."""
    values = {v.key: v.value for v in items}
    return lambda name: values.get(name, "")


class JobVariables:
    """An ordered, list-like collection of variables; on duplicate keys the last one wins."""

    def __init__(self, items: Iterable[Variable] = ()) -> None:
        self._items: list[Variable] = list(items)

    def __iter__(self) -> Iterator[Variable]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Variable: ...
    @overload
    def __getitem__(self, index: slice) -> JobVariables: ...
    def __getitem__(self, index: int | slice) -> Variable | JobVariables:
        if isinstance(index, slice):
            return JobVariables(self._items[index])
        return self._items[index]

    def __add__(self, other: Iterable[Variable]) -> JobVariables:
        return JobVariables([*self._items, *other])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JobVariables):
            return self._items == other._items
        if isinstance(other, list):
            return self._items == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"JobVariables({self._items!r})"

    def append(self, variable: Variable) -> None:
        self._items.append(variable)

    def extend(self, variables: Iterable[Variable]) -> None:
        self._items.extend(variables)

    def find(self, key: str) -> Variable | None:
        """The last variable named `key`, or None."""
        for variable in reversed(self._items):
            if variable.key == key:
                return variable
        return None

    def get(self, key: str, default: str = "") -> str:
        """The value of the last variable named `key` (as stored, not expanded), else `default`."""
        variable = self.find(key)
        return default if variable is None else variable.value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.find(key) is not None

    def expand(self, text: str) -> str:
        """Expand `$VAR`/`${VAR}` in `text` the way gitlab-runner does.

        Unknown variables become empty, `$$` is a literal `$`, shell parameters such as `$1`,
        `$?`, `$*` are kept as written, `${}`/an unclosed `${` are dropped, a lone trailing `$`
        stays.
        """
        return _expand(text, self.get)

    def expanded(self) -> JobVariables:
        """A copy where every non-raw variable's value has references expanded (against this list).

        Only variables whose value expansion changes are copied; the others (raw, without `$`,
        or expanding to the same text) are the same frozen objects in the copy.
        """
        items = self._items
        out = list(items)
        get: Callable[[str], str] | None = None
        for i, variable in enumerate(items):
            if variable.raw or "$" not in variable.value:
                continue
            if get is None:
                get = _last_values(items)
            value = _expand(variable.value, get)
            if value != variable.value:
                out[i] = replace(variable, value=value)
        return JobVariables(out)

    def public(self) -> JobVariables:
        """Only the variables GitLab marked public."""
        return JobVariables(v for v in self._items if v.public)
