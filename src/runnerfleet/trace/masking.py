"""The masking chain of one stream: variable values, URL params, token prefixes, one scan per write."""

from __future__ import annotations

from collections.abc import Iterable

from runnerfleet.trace.literals import LiteralSet
from runnerfleet.trace.phrases import PhraseMasker
from runnerfleet.trace.tokens import TokenMasker
from runnerfleet.trace.urlparams import UrlParamMasker, has_sensitive_key


class MaskChain:
    """gitlab-runner's three maskers in its order, each fed what the previous one released.

    Most writes contain nothing to mask. Then one presence scan over all unreleased bytes
    (the maskers' held tails, oldest first, and the new data) proves that no masker can match,
    and each masker only moves its held-back tail; otherwise every masker runs its full search.
    Both ways give exactly the same bytes and the same release points: every masker's buffer is
    a substring of what was scanned.
    """

    def __init__(
        self, phrases: Iterable[str | bytes] | LiteralSet, prefixes: Iterable[bytes] | LiteralSet
    ) -> None:
        # Given LiteralSets (a TraceBuffer's, shared by its streams) nothing is built here.
        self._phrases = PhraseMasker(phrases)
        self._urls = UrlParamMasker()
        self._tokens = TokenMasker(prefixes)

    def _quiet(self, data: bytes) -> bool:
        """True when no masker can match anything in its held tail plus data.

        A masker inside a token or URL value finishes it the same way either way; only the
        search for new matches is skipped.
        """
        held = self._tokens.held + self._urls.held + self._phrases.held
        buf = held + data if held else data
        return not (
            self._phrases.literals.present(buf)
            or has_sensitive_key(buf)
            or self._tokens.literals.present(buf)
        )

    def feed(self, data: bytes) -> bytes:
        scan = not self._quiet(data)
        out = self._phrases.feed(data, scan=scan)
        out = self._urls.feed(out, scan=scan) if out else b""
        return self._tokens.feed(out, scan=scan) if out else b""

    def flush(self) -> bytes:
        """Everything held, as the end of the stream (a partial secret is released as is)."""
        out = self._phrases.flush()
        out = self._urls.feed(out) if out else b""
        out += self._urls.flush()
        out = self._tokens.feed(out) if out else b""
        return out + self._tokens.flush()
