"""A streaming multipart/form-data reader: file parts go to disk as they arrive, small fields to memory.

Artifact uploads are large and chunked; the coordinator never holds one in memory. The reader
scans the body block by block for the boundary delimiter (kept across block edges) and hands
each part's bytes to a sink chosen from the part's headers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from runnerfleet.coordinator.web import BodyStream

BLOCK = 1 << 20
MAX_HEADER_BYTES = 16 * 1024
MAX_FIELD_BYTES = 64 * 1024
_DISPOSITION = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"|(\w+)=([^;\s]+)')


class MultipartError(ValueError):
    """The body is not the multipart form it claims to be."""


@dataclass
class Part:
    name: str
    filename: str | None
    headers: dict[str, str]


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Part] = field(default_factory=dict)


def boundary_of(content_type: str) -> str | None:
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        return None
    m = re.search(r'boundary="?([^";]+)"?', params)
    return m.group(1) if m else None


def _parse_headers(raw: bytes) -> Part:
    headers: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    disposition = headers.get("content-disposition", "")
    params: dict[str, str] = {}
    for m in _DISPOSITION.finditer(disposition):
        if m.group(1):
            params[m.group(1).lower()] = m.group(2).replace('\\"', '"')
        else:
            params[m.group(3).lower()] = m.group(4)
    return Part(params.get("name", ""), params.get("filename"), headers)


FileSink = Callable[[Part], Callable[[bytes], None]]


def read_form(stream: BodyStream, boundary: str, file_sink: FileSink) -> Form:
    """Read the whole form; each file part's bytes go to the writer `file_sink(part)` returns."""
    delimiter = b"\r\n--" + boundary.encode()
    form = Form()
    # A leading CRLF lets the first boundary match the same delimiter as the others.
    buffer = b"\r\n"
    done = False

    def fill() -> bool:
        nonlocal buffer
        block = stream.read(BLOCK)
        if not block:
            return False
        buffer += block
        return True

    while delimiter not in buffer:
        if not fill():
            raise MultipartError("no multipart boundary in the body")
    buffer = buffer[buffer.index(delimiter) + len(delimiter):]
    while not done:
        while len(buffer) < 2 and fill():
            pass
        if buffer.startswith(b"--"):
            break
        while b"\r\n\r\n" not in buffer:
            if len(buffer) > MAX_HEADER_BYTES or not fill():
                raise MultipartError("malformed part headers")
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        part = _parse_headers(head.removeprefix(b"\r\n"))
        if part.filename is not None:
            write = file_sink(part)
            form.files[part.name] = part
        else:
            chunks: list[bytes] = []

            def write(data: bytes, chunks: list[bytes] = chunks) -> None:
                if sum(map(len, chunks)) + len(data) > MAX_FIELD_BYTES:
                    raise MultipartError("a form field is too large")
                chunks.append(data)
        while True:
            at = buffer.find(delimiter)
            if at >= 0:
                write(buffer[:at])
                buffer = buffer[at + len(delimiter):]
                break
            keep = len(delimiter) - 1
            if len(buffer) > keep:
                write(buffer[:-keep])
                buffer = buffer[-keep:]
            if not fill():
                raise MultipartError("the body ended inside a part")
        if part.filename is None:
            form.fields[part.name] = b"".join(chunks).decode("utf-8", "replace")
    return form
