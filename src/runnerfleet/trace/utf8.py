"""Makes the job log valid UTF-8 the way gitlab-runner does: one U+FFFD per invalid byte."""

from __future__ import annotations

import codecs

_ERRORS = "runnerfleet-trace-replace-byte"


def _replace_one_byte(error: UnicodeError) -> tuple[str, int]:
    # Python reports a maximal invalid subpart; Go's encoder replaces byte by byte, so resume
    # right after the first byte and let the decoder judge the next one again.
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "\ufffd", error.start + 1


codecs.register_error(_ERRORS, _replace_one_byte)


class Utf8Sanitizer:
    """Passes valid UTF-8 through; holds an incomplete trailing character until the next write."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors=_ERRORS)
        self._pending = False

    def feed(self, data: bytes) -> bytes:
        if not self._pending and data.isascii():
            return data
        text = self._decoder.decode(data)
        self._pending = bool(self._decoder.getstate()[0])
        return text.encode("utf-8")

    def flush(self) -> bytes:
        text = self._decoder.decode(b"", final=True)
        self._pending = False
        return text.encode("utf-8")
