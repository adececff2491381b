"""Go duration values (`"1h30m"`, `"15m0s"`, `"300ms"`): parsing and Go's `String()` form."""

from __future__ import annotations

import re

_UNIT_NS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 micro sign
    "μs": 1_000,  # U+03BC greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_PART = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)")
_EXPECTED = 'expected a duration like "90s", "15m0s" or "1h30m"'


def _parse_ns(text: str) -> int:
    """Go's time.ParseDuration: a signed sequence of decimal numbers, each with a unit."""
    body = text
    sign = 1
    if body[:1] in ("-", "+"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return 0
    if not body:
        raise ValueError(f"{_EXPECTED}, got {text!r}")
    total = 0
    pos = 0
    while pos < len(body):
        match = _PART.match(body, pos)
        if match is None or (not match.group(1) and not match.group(2)):
            if match is None and pos < len(body) and (body[pos].isdigit() or body[pos] == "."):
                raise ValueError(f"{_EXPECTED}, got {text!r} (missing unit: ns, us, ms, s, m, h)")
            raise ValueError(f"{_EXPECTED}, got {text!r}")
        whole, frac, unit = match.group(1) or "0", match.group(2) or "", match.group(3)
        scale = _UNIT_NS[unit]
        total += int(whole) * scale
        if frac:
            total += int(frac) * scale // (10 ** len(frac))
        pos = match.end()
    return sign * total


def _fmt_frac(value: int, digits: int) -> str:
    """`value` scaled by 10**digits as a decimal without trailing zeros (Go's fmtFrac/fmtInt)."""
    whole, frac = divmod(value, 10**digits)
    text = str(whole)
    if frac:
        text += "." + str(frac).rjust(digits, "0").rstrip("0")
    return text


def go_duration_string(ns: int) -> str:
    """The text Go's `time.Duration.String()` gives for `ns` nanoseconds."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    n = abs(ns)
    if n < 1_000:
        return f"{sign}{n}ns"
    if n < 1_000_000:
        return f"{sign}{_fmt_frac(n, 3)}µs"
    if n < 1_000_000_000:
        return f"{sign}{_fmt_frac(n // 1, 6)}ms"
    hours, rest = divmod(n, 3600 * 1_000_000_000)
    minutes, rest = divmod(rest, 60 * 1_000_000_000)
    text = _fmt_frac(rest, 9) + "s"
    if hours or minutes:
        text = f"{minutes}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return sign + text


class Duration:
    """A Go duration: `.text` exactly as written, `.seconds` its value; equal by value."""

    __slots__ = ("_ns", "text")

    def __init__(self, text: str, ns: int) -> None:
        self.text = text
        self._ns = ns

    @classmethod
    def parse(cls, text: str) -> Duration:
        if not isinstance(text, str):
            raise ValueError(f"{_EXPECTED}, got {text!r}")
        return cls(text, _parse_ns(text))

    @classmethod
    def from_seconds(cls, seconds: float) -> Duration:
        ns = round(seconds * 1_000_000_000)
        return cls(go_duration_string(ns), ns)

    @classmethod
    def from_nanoseconds(cls, ns: int) -> Duration:
        return cls(go_duration_string(ns), ns)

    @property
    def seconds(self) -> float:
        return self._ns / 1_000_000_000

    @property
    def nanoseconds(self) -> int:
        return self._ns

    @property
    def go_string(self) -> str:
        """Go's canonical `String()` form (what gitlab-runner writes back)."""
        return go_duration_string(self._ns)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Duration({self.text!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Duration):
            return self._ns == other._ns
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._ns)
