"""ConfigFile: config.toml as text that is edited in place (round trip) plus its typed view."""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runnerfleet.config.render import (
    GLOBAL_HEADER,
    render_array_item,
    render_key,
    render_runner,
    render_table_block,
    render_value,
)
from runnerfleet.config.schema import Config, RunnerConfig, toml_fields
from runnerfleet.config.tomlscan import Stmt, scan
from runnerfleet.config.validate import decode_config, decode_runner
from runnerfleet.errors import ConfigError

_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")
_MAP_KINDS = {"map", "bool_map", "list_map", "raw"}


def _parse_error(display: str, text: str, error: tomllib.TOMLDecodeError) -> str:
    """One line `<path>:LINE:COL: <what is wrong>` for a TOML syntax error."""
    message = str(error)
    match = _POSITION.search(message)
    lines = text.split("\n")
    if match and match.group(1):
        line, col = int(match.group(1)), int(match.group(2))
    else:
        line, col = len(lines), len(lines[-1]) + 1
    what = message[: match.start()] if match else message
    what = what[:1].lower() + what[1:]
    if what == "illegal character '\\n'":
        what = "unterminated string: the line ends before the closing quote"
    if what.startswith(("cannot overwrite", "cannot declare")):
        what += " (a key or table is defined twice)"
    row = lines[line - 1] if 0 < line <= len(lines) else ""
    ch = row[col - 1] if 0 < col <= len(row) else ""
    if ch.strip() and ch.isprintable() and "'" not in what and '"' not in what:
        what = f"unexpected character {ch!r} ({what})"
    return f"{display}:{line}:{col}: {what}"


def _schema_lookup(path: tuple[str, ...]) -> tuple[type | None, str | None]:
    """(dataclass, kind) of the table at a TOML path like ("runners", "docker")."""
    cls: type | None = RunnerConfig if path[:1] == ("runners",) else Config
    parts = path[1:] if path[:1] == ("runners",) else path
    kind: str | None = "table"
    for part in parts:
        if cls is None:
            return None, None
        meta = next((f.metadata for f in toml_fields(cls) if f.metadata["toml"] == part), None)
        if meta is None:
            return None, None
        kind = meta["kind"]
        cls = meta["cls"] if kind not in _MAP_KINDS else None
    return cls, kind


class _Editor:
    """Text plus its statements; each edit rescans so offsets stay right."""

    def __init__(self, text: str, runner: int) -> None:
        self.text = text
        self.stmts = scan(text)
        self.runner = runner  # -1: the global (top-level) table

    def splice(self, start: int, end: int, new: str) -> None:
        self.text = self.text[:start] + new + self.text[end:]
        self.stmts = scan(self.text)

    # -- lookups ---------------------------------------------------------------------------
    def _mine(self, s: Stmt) -> bool:
        if self.runner < 0:
            return s.table[:1] != ("runners",)
        return s.array_index == self.runner and s.table[:1] == ("runners",)

    def header(self, path: tuple[str, ...]) -> int | None:
        for i, s in enumerate(self.stmts):
            if (s.kind in ("table", "array") and s.key == path and self._mine(s)
                    and (s.kind == "table" or path == ("runners",))):
                return i
        return None

    def kv(self, path: tuple[str, ...]) -> int | None:
        for i, s in enumerate(self.stmts):
            if s.kind == "kv" and s.table + s.key == path and self._mine(s):
                return i
        return None

    def dotted(self, prefix: tuple[str, ...]) -> list[int]:
        return [i for i, s in enumerate(self.stmts)
                if s.kind == "kv" and (s.table + s.key)[: len(prefix)] == prefix
                and len(s.table) < len(prefix) and self._mine(s)]

    def _lead(self, i: int) -> int:
        while i > 0 and self.stmts[i - 1].kind == "comment":
            i -= 1
        return i

    def _block_end(self, i: int) -> int:
        """Index of the first statement after header `i`'s own keys and comments."""
        j = i + 1
        while j < len(self.stmts) and self.stmts[j].kind not in ("table", "array"):
            j += 1
        return self._lead(j) if j < len(self.stmts) else j

    def _offset(self, i: int) -> int:
        return self.stmts[i].start if i < len(self.stmts) else len(self.text)

    def content_end(self) -> int:
        """Offset after the last key or header of this runner (or of the document)."""
        mine = [s for s in self.stmts if s.kind != "blank" and s.kind != "comment"
                and (self.runner < 0 or self._mine(s))]
        return mine[-1].end if mine else len(self.text)

    # -- edits -----------------------------------------------------------------------------
    def _insert_at(self, pos: int, text: str) -> None:
        if pos > 0 and not self.text[:pos].endswith("\n"):
            text = "\n" + text
        self.splice(pos, pos, text)

    def delete_header_block(self, path: tuple[str, ...], array: bool) -> bool:
        for i, s in enumerate(self.stmts):
            wanted = "array" if array else "table"
            if (s.kind in ("table", "array") and s.key[: len(path)] == path and self._mine(s)
                    and (s.key != path or s.kind == wanted)):
                start = self._lead(i)
                self.splice(self._offset(start), self._offset(self._block_end(i)), "")
                return True
        return False

    def set_leaf(self, path: tuple[str, ...], value: Any) -> None:
        i = self.kv(path)
        if i is not None:
            s = self.stmts[i]
            self.splice(s.value_start, s.value_end, render_value(value))
            return
        parent = path[:-1]
        h = self.header(parent) if parent else None
        if parent and h is None:
            inline = self.kv(parent)
            if inline is not None:
                self.set_inline(inline, {path[-1]: value})
                return
            dots = self.dotted(parent)
            if dots:
                last = self.stmts[dots[-1]]
                rel = ".".join(render_key(p) for p in path[len(last.table):])
                self._insert_at(last.end, f"{last.indent}{rel} = {render_value(value)}\n")
                return
            self.add_block(parent, {path[-1]: value})
            return
        table = parent if parent else ()
        kvs = [s for s in self.stmts if s.kind == "kv" and s.table == table and len(s.key) == 1
               and self._mine(s)]
        line_key = f"{render_key(path[-1])} = {render_value(value)}\n"
        if kvs:
            last = kvs[-1]
            self._insert_at(last.end, last.indent + line_key)
        elif h is not None:
            hs = self.stmts[h]
            self._insert_at(hs.end, hs.indent + "  " + line_key)
        else:
            self._insert_at(0, line_key)

    def set_inline(self, i: int, changes: Mapping[str, Any]) -> None:
        s = self.stmts[i]
        current = tomllib.loads("v = " + self.text[s.value_start:s.value_end])["v"]
        merged = _merge(current, changes)
        self.splice(s.value_start, s.value_end, render_value(merged))

    def delete(self, path: tuple[str, ...]) -> None:
        i = self.kv(path)
        if i is not None:
            s = self.stmts[i]
            self.splice(s.start, s.end, "")
            return
        while self.delete_header_block(path, array=False):
            pass
        for j in reversed(self.dotted(path)):
            s = self.stmts[j]
            self.splice(s.start, s.end, "")

    def add_block(self, path: tuple[str, ...], values: Mapping[str, Any]) -> None:
        clean = _drop_none(values)
        if not clean:
            return
        cls, _ = _schema_lookup(path)
        block = render_table_block(cls, path, clean)
        pos = self.content_end()
        if self.runner < 0:
            block = "\n" + block
        self._insert_at(pos, block)

    def set_array(self, path: tuple[str, ...], items: list[Mapping[str, Any]]) -> None:
        while self.delete_header_block(path, array=True):
            pass
        cls, _ = _schema_lookup(path)
        for item in items:
            text = render_array_item(cls, path, item) if cls else ""
            self._insert_at(self.content_end(), "\n" + text)

    def apply(self, base: tuple[str, ...], values: Mapping[str, Any]) -> None:
        for k, v in values.items():
            path = (*base, k)
            if v is None:
                self.delete(path)
            elif isinstance(v, Mapping):
                if self.header(path) is not None or self.dotted(path):
                    self.apply(path, v)
                elif (i := self.kv(path)) is not None:
                    self.set_inline(i, v)
                else:
                    self.add_block(path, v)
            elif isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v):
                self.set_array(path, v)
            else:
                self.set_leaf(path, v)


def _merge(current: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(current) if isinstance(current, Mapping) else {}
    for k, v in changes.items():
        if v is None:
            merged.pop(k, None)
        elif isinstance(v, Mapping):
            merged[k] = _merge(merged.get(k), v)
        else:
            merged[k] = v
    return merged


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (_drop_none(v) if isinstance(v, Mapping) else v)
            for k, v in values.items() if v is not None}


class ConfigFile:
    """A config.toml document: byte-preserving edits, atomic saves, a typed `config` view."""

    def __init__(self, path: str | os.PathLike[str], text: str, *, exists: bool) -> None:
        self.path = Path(path)
        self._display = os.fspath(path)
        self.exists = exists
        self._text = ""
        self.config = Config()
        self.warnings: list[str] = []
        self._commit(text)

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike[str], *, missing_ok: bool = True) -> ConfigFile:
        display = os.fspath(path)
        try:
            raw = Path(path).read_bytes()
        except FileNotFoundError:
            if missing_ok:
                return cls(path, "", exists=False)
            raise ConfigError(
                f"{display}: file not found; create it with `register` or pass -c/--config",
                path=display,
            ) from None
        except OSError as error:
            raise ConfigError(f"{display}: cannot read: {error.strerror or error}",
                              path=display) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ConfigError(
                f"{display}: not UTF-8 text (bad byte at offset {error.start}); save it as UTF-8",
                path=display,
            ) from None
        return cls(path, text, exists=True)

    @classmethod
    def from_text(cls, text: str, *, path: str | os.PathLike[str] = "config.toml") -> ConfigFile:
        return cls(path, text, exists=False)

    # -- reading -----------------------------------------------------------------------------
    def dumps(self) -> str:
        return self._text

    def _analyze(self, text: str) -> tuple[Config, list[str]]:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(_parse_error(self._display, text, error),
                              path=self._display) from None
        try:
            scan(text)
        except (ValueError, IndexError):  # pragma: no cover - only for TOML the scanner misreads
            raise ConfigError(f"{self._display}: cannot locate statements for editing",
                              path=self._display) from None
        config, problems, warnings = decode_config(data, display=self._display)
        if problems:
            raise ConfigError(problems, path=self._display)
        return config, warnings

    def _commit(self, text: str) -> None:
        config, warnings = self._analyze(text)
        self._text, self.config, self.warnings = text, config, warnings

    def _base_text(self) -> str:
        return self._text if self._text.strip() else GLOBAL_HEADER

    def _runner_count(self) -> int:
        return len(self.config.runners)

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self._runner_count():
            raise ConfigError(
                f"{self._display}: runners[{index}]: no such entry "
                f"(the file has {self._runner_count()} [[runners]] entries)",
                path=self._display,
            )

    # -- editing -----------------------------------------------------------------------------
    def add_runner(self, values: Mapping[str, Any]) -> RunnerConfig:
        index = self._runner_count()
        entry = render_runner(values)
        try:
            data = tomllib.loads(entry)["runners"][0]
        except (tomllib.TOMLDecodeError, TypeError) as error:
            raise ConfigError(f"{self._display}: runners[{index}]: cannot be written: {error}",
                              path=self._display) from None
        _, problems, _ = decode_runner(data, index, display=self._display)
        if problems:
            raise ConfigError(problems, path=self._display)
        base = self._base_text()
        if not base.endswith("\n"):
            base += "\n"
        if not base.endswith("\n\n"):
            base += "\n"
        self._commit(base + entry)
        return self.config.runners[index]

    def update_runner(self, index: int, values: Mapping[str, Any]) -> RunnerConfig:
        self._check_index(index)
        editor = _Editor(self._text, index)
        editor.apply(("runners",), values)
        self._commit(editor.text)
        return self.config.runners[index]

    def remove_runner(self, index: int) -> None:
        self._check_index(index)
        editor = _Editor(self._text, index)
        stmts = editor.stmts
        h = editor.header(("runners",))
        assert h is not None
        end = h + 1
        while end < len(stmts) and not (
            stmts[end].kind in ("table", "array") and stmts[end].array_index != index
        ):
            end += 1
        first = editor._lead(h)
        if end < len(stmts):
            stop = stmts[editor._lead(end)].start
        else:
            stop = len(self._text)
            while first > 0 and stmts[first - 1].kind == "blank":
                first -= 1  # last entry: drop the blank line that separated it
        editor.splice(stmts[first].start, stop, "")
        self._commit(editor.text)

    def set_global(self, key: str, value: Any) -> None:
        editor = _Editor(self._base_text(), -1)
        editor.apply((), {key: value})
        self._commit(editor.text)

    # -- writing -----------------------------------------------------------------------------
    def save(self) -> None:
        """Write atomically (temp file in the same directory, fsync, rename), mode 0600."""
        target = self.path
        try:
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                       dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    os.fchmod(handle.fileno(), 0o600)
                    handle.write(self._text.encode("utf-8"))
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            _fsync_dir(target.parent)
        except OSError as error:
            display = self._display if Path(self._display) == target else str(target)
            where = f" ({error.filename})" if error.filename not in (None, str(target)) else ""
            raise ConfigError(f"{display}: cannot save: {error.strerror or error}{where}",
                              path=display) from None
        self.exists = True


def _fsync_dir(directory: Path) -> None:
    # Makes the rename durable; not all filesystems allow it, which is harmless.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
