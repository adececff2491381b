"""The job log buffer: executors write, the trace streamer reads masked, final bytes by offset."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType

from runnerfleet.trace import colors
from runnerfleet.trace.literals import LiteralSet
from runnerfleet.trace.masking import MaskChain
from runnerfleet.trace.phrases import PHRASE_SETS, phrase_key
from runnerfleet.trace.store import DEFAULT_OUTPUT_LIMIT, LogStore
from runnerfleet.trace.timestamps import STDOUT, Clock, Timestamper
from runnerfleet.trace.tokens import prefix_set, token_prefixes
from runnerfleet.trace.utf8 import Utf8Sanitizer

# gitlab-runner's stream numbers: runner/executor lines, user script output, first service.
STREAM_EXECUTOR = 0
STREAM_WORK = 1
STREAM_FIRST_SERVICE = 15


class TraceStream:
    """One output stream (id + stdout/stderr) of a job log; it has its own masking state.

    Obtain it from `TraceBuffer.stream()`; writing is thread-safe.
    """

    def __init__(self, owner: TraceBuffer, stream_id: int, stream_type: str) -> None:
        self._owner = owner
        self.stream_id = stream_id
        self.stream_type = stream_type
        # Built at the first write from the buffer's current sets (None: not built or stale), so
        # setters called in a row, or before a stream is written at all, cost no build each.
        self._masks: MaskChain | None = None
        self._stamper = Timestamper(stream_id, stream_type, owner._clock) if owner._timestamps else None

    def write(self, data: bytes) -> int:
        """Mask and store data; always reports all of it written (even past the output limit)."""
        with self._owner._lock:
            self._owner._check_open()
            if not self._owner._finished and data:
                self._process(data, final=False, stamp_final=False)
                # One write to the file per log write: a SIGKILLed runner's journal then has every
                # byte it had released, not only what the last trace update read.
                self._owner._store.flush()
                if self._owner._wake_size is not None:
                    self._owner._wake_if_grown()
        return len(data)

    def _process(self, data: bytes, *, final: bool, stamp_final: bool) -> None:
        # Order as gitlab-runner: variable values, URL params, token prefixes, then timestamps.
        masks = self._masks
        if masks is None and data:
            masks = self._masks = MaskChain(self._owner._phrase_set, self._owner._prefix_set)
        out = masks.feed(data) if masks is not None and data else b""
        if final and masks is not None:
            out += masks.flush()
        self._stamp_and_append(out, stamp_final=stamp_final)

    def _stamp_and_append(self, out: bytes, *, stamp_final: bool) -> None:
        if self._stamper is None:
            if out:
                self._owner._append(out)
            return
        # The stamped pieces go to the store one by one: joining them would copy every byte.
        parts = self._stamper.feed_parts(out)
        if stamp_final:
            parts.append(self._stamper.flush())
        for part in parts:
            if part:
                self._owner._append(part)

    def _finish(self) -> None:
        self._process(b"", final=True, stamp_final=True)

    def _remask(self) -> None:
        """Release what the old maskers hold (the line stays open); the next write masks with the
        buffer's new settings."""
        masks, self._masks = self._masks, None
        if masks is not None:
            self._stamp_and_append(masks.flush(), stamp_final=False)


class TraceBuffer:
    """Thread-safe, file-backed job log with gitlab-runner's masking, timestamps and output limit.

    `write()` and the runner-line helpers go to the executor stream (`00O`); executors may open
    more streams with `stream()`. Readers get the final bytes with `bytes_since()`.
    """

    def __init__(
        self,
        *,
        masked: Iterable[str] = (),
        token_mask_prefixes: Iterable[str] = (),
        mask_all_default_tokens: bool = True,
        timestamps: bool = True,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
        clock: Clock = time.time_ns,
        directory: str | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._mask_all_default_tokens = mask_all_default_tokens
        # The compiled sets come from small caches (literalcache.py); the phrase sets this buffer
        # used are discarded from theirs when its log is finished, not to keep secrets around.
        self._phrase_keys: set[tuple[bytes, ...]] = set()
        self._phrase_set = self._cached_phrase_set(masked)
        self._prefix_set = prefix_set(
            token_prefixes(token_mask_prefixes, mask_all_default_tokens=mask_all_default_tokens)
        )
        self._timestamps = timestamps
        self._clock = clock
        self._store = LogStore(output_limit, directory=directory)
        self._utf8 = Utf8Sanitizer()
        self._streams: dict[tuple[int, str], TraceStream] = {}
        self._finished = False
        # Who waits for the log to reach a size (the trace streamer's backlog): set once then.
        self._wake_size: int | None = None
        self._wake_call: Callable[[], None] | None = None
        self._default = self.stream(STREAM_EXECUTOR, STDOUT)

    # -- configuration -------------------------------------------------------------------------

    def set_masked(self, values: Iterable[str]) -> None:
        """Set the masked variable values; pending output of every stream is flushed first."""
        with self._lock:
            self._phrase_set = self._cached_phrase_set(values)
            self._rebuild_streams()

    def set_token_mask_prefixes(self, prefixes: Iterable[str]) -> None:
        """Set extra token prefixes from the job's `features.token_mask_prefixes`."""
        with self._lock:
            self._prefix_set = prefix_set(
                token_prefixes(prefixes, mask_all_default_tokens=self._mask_all_default_tokens)
            )
            self._rebuild_streams()

    def _cached_phrase_set(self, values: Iterable[str]) -> LiteralSet:
        key = phrase_key(values)
        self._phrase_keys.add(key)
        return PHRASE_SETS.get(key)

    def _forget_phrase_sets(self) -> None:
        for key in self._phrase_keys:
            PHRASE_SETS.discard(key)
        self._phrase_keys.clear()

    def _rebuild_streams(self) -> None:
        self._check_open()
        for stream in self._streams.values():
            stream._remask()

    # -- writer side ---------------------------------------------------------------------------

    def stream(self, stream_id: int, stream_type: str = STDOUT) -> TraceStream:
        """The writer for one stream (created on first use, then the same object)."""
        with self._lock:
            key = (stream_id, stream_type)
            existing = self._streams.get(key)
            if existing is None:
                existing = TraceStream(self, stream_id, stream_type)
                self._streams[key] = existing
            return existing

    def write(self, data: bytes) -> int:
        return self._default.write(data)

    def notice(self, text: str) -> None:
        """A green runner line, like gitlab-runner's `Infoln`."""
        self.write(colors.notice_line(text))

    def println(self, text: str) -> None:
        """A plain runner line (clear-line prefix), like gitlab-runner's `Println`."""
        self.write(colors.plain_line(text))

    def warning(self, text: str) -> None:
        self.write(colors.warning_line(text))

    def error(self, text: str) -> None:
        self.write(colors.error_line(text))

    def section_start(self, name: str) -> None:
        self.write(colors.section_start_line(name, self._clock() // 1_000_000_000))

    def section_end(self, name: str) -> None:
        self.write(colors.section_end_line(name, self._clock() // 1_000_000_000))

    def finish(self) -> None:
        """Flush every stream's pending bytes; later writes are ignored. Idempotent."""
        with self._lock:
            if self._finished or self._store.closed:
                return
            for stream in self._streams.values():
                stream._finish()
            tail = self._utf8.flush()
            if tail:
                self._store.append(tail)
            self._store.flush()
            self._finished = True
            self._forget_phrase_sets()

    def wake_at(self, size: int | None, call: Callable[[], None] | None) -> None:
        """Call `call` once the log holds at least `size` bytes (at once if it already does).

        One waiter at a time (a later call replaces it; `size=None` disarms). `call` runs on
        the writer's thread with the buffer locked and must not block: the trace streamer sets
        an event or starts its thread, instead of polling the size.
        """
        with self._lock:
            self._wake_call = call if size is not None else None
            self._wake_size = size
            if size is not None:
                self._wake_if_grown()

    def _wake_if_grown(self) -> None:
        size, call = self._wake_size, self._wake_call
        if size is not None and call is not None and self._store.size() >= size:
            self._wake_size = self._wake_call = None
            call()

    def _append(self, data: bytes) -> None:
        data = self._utf8.feed(data)
        if data:
            self._store.append(data)

    def _check_open(self) -> None:
        if self._store.closed:
            raise ValueError("the job log buffer is closed")

    # -- reader side ---------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The file holding the final bytes (inside `directory` when one was given)."""
        return self._store.path

    @property
    def is_finished(self) -> bool:
        with self._lock:
            return self._finished

    @property
    def limit_exceeded(self) -> bool:
        with self._lock:
            return self._store.limit_exceeded

    def size(self) -> int:
        with self._lock:
            return self._store.size()

    def checksum(self) -> str:
        """`crc32:<8 lowercase hex>` (CRC-32/IEEE) of all final bytes, as sent in `PUT /jobs/:id`."""
        with self._lock:
            return self._store.checksum()

    def bytes_since(self, offset: int, max_bytes: int | None = None) -> bytes:
        """The final bytes from `offset` to the end (at most `max_bytes`); ValueError if out of range."""
        with self._lock:
            return self._store.read(offset, max_bytes)

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        """Remove the backing file; the buffer cannot be used afterwards."""
        with self._lock:
            self._store.close()
            self._forget_phrase_sets()

    def __enter__(self) -> TraceBuffer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
