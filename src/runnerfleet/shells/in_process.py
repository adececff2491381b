"""Runner-side stages: bookkeeping stages done inside the runner process, printing what the script would.

A trivial job's get_sources (GIT_STRATEGY none/empty) and cleanup_file_variables only create,
write and remove a few local files and print a notice; a login shell for that costs more than
the job itself. When the executor runs scripts on this host as the runner's own user, such a
stage is a list of file operations plus the exact bytes its script would print.

Anything unusual (a file in the way, a permission problem, a variable the shell would refuse)
makes `InProcessStage.run` decline before printing a byte: the caller then runs the stage's
script, which redoes the (idempotent) work and reports the problem in the shell's own words.
Stages whose output comes from the shell itself (CI_DEBUG_TRACE's xtrace, section markers
written by the script) always run as scripts.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from runnerfleet.job.variables import JobVariables
from runnerfleet.shells.build_info import BuildInfo
from runnerfleet.shells.stages import (
    EXT_GIT_CONFIG,
    GIT_TEMPLATE_DIR,
    GITLAB_ENV_FILE,
    SHELL_NAME,
    debug_trace,
    job_variables,
)
from runnerfleet.shells.writer import ANSI_BOLD_GREEN, ANSI_RESET

# Variables bash will not export (`export UID=1` fails the script): their stages stay scripts.
BASH_READONLY = frozenset({"BASHOPTS", "BASH_VERSINFO", "EUID", "PPID", "SHELLOPTS", "UID"})


class OutputSink(Protocol):
    def write(self, data: bytes) -> int: ...


@dataclass(frozen=True)
class MakeDirs:
    """`[ -d p ] || mkdir -p p`."""

    path: str

    def apply(self) -> None:
        if not os.path.isdir(self.path):
            os.makedirs(self.path, exist_ok=True)


@dataclass(frozen=True)
class WriteSecretFile:
    """`(umask 077 && printf '%s' value > p); chmod 600 p`: the value verbatim, owner-only."""

    path: str
    content: str

    def apply(self) -> None:
        data = self.content.encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(self.path, 0o600)


@dataclass(frozen=True)
class EnsureReadableFile:
    """`[ -e p ] || : >> p` then the loop that reads GITLAB_ENV from it (which must open)."""

    path: str

    def apply(self) -> None:
        if not os.path.exists(self.path):
            os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666))
        os.close(os.open(self.path, os.O_RDONLY | os.O_CLOEXEC))


@dataclass(frozen=True)
class RemoveFile:
    """`rm -f p` (a missing file is fine; anything else unusual is left to the script)."""

    path: str

    def apply(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


@dataclass(frozen=True)
class RemoveTree:
    """`if [ -d p ]; then chmod -R u+rwX p; fi; rm -r -f p` for a real directory (or nothing)."""

    path: str

    def apply(self) -> None:
        try:
            mode = os.lstat(self.path).st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISDIR(mode):
            # A symlink or a file: rare, and the script's rules for them are subtle.
            raise IsADirectoryError(f"{self.path} is not a plain directory")
        _make_owner_writable(self.path)
        shutil.rmtree(self.path)


def _make_owner_writable(root: str) -> None:
    """chmod -R u+rwX without following symlinks (read-only trees, e.g. Go module caches)."""
    todo = [root]
    while todo:
        path = todo.pop()
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            continue
        is_dir = stat.S_ISDIR(st.st_mode)
        wanted = stat.S_IRUSR | stat.S_IWUSR
        if is_dir or st.st_mode & 0o111:
            wanted |= stat.S_IXUSR
        if st.st_mode & wanted != wanted:
            os.chmod(path, stat.S_IMODE(st.st_mode) | wanted)
        if is_dir:
            with os.scandir(path) as entries:
                todo.extend(entry.path for entry in entries)


Operation = MakeDirs | WriteSecretFile | EnsureReadableFile | RemoveFile | RemoveTree


@dataclass(frozen=True)
class InProcessStage:
    """A stage's whole work: file operations in script order, then the bytes its script prints."""

    name: str
    operations: tuple[Operation, ...]
    output: bytes = b""

    def run(self, stdout: OutputSink) -> bool:
        """Do the work and print the output; False (nothing printed) when the script must run instead."""
        try:
            for operation in self.operations:
                operation.apply()
        except (OSError, ValueError):
            # ValueError: a value the file system cannot take (e.g. not encodable); the script
            # path handles it as it always did.
            return False
        if self.output:
            stdout.write(self.output)
        return True


def _notice(text: str) -> bytes:
    """What `ShellWriter.notice(text)` prints."""
    return f"{ANSI_BOLD_GREEN}{text}{ANSI_RESET}\n".encode()


def _tmp(build: BuildInfo, name: str) -> str:
    return f"{build.tmp_dir.rstrip('/')}/{name}"


def _exports(build: BuildInfo, variables: JobVariables) -> list[Operation] | None:
    """The file side of the export block (`_write_exports`); None when the shell could refuse it."""
    operations: list[Operation] = [MakeDirs(build.tmp_dir)]
    for variable in variables:
        if not SHELL_NAME.match(variable.key):
            continue
        if variable.key in BASH_READONLY:
            return None
        if variable.file:
            if "\x00" in variable.value:
                return None  # the shell would cut the value at the NUL byte
            operations.append(WriteSecretFile(_tmp(build, variable.key), variable.value))
    operations.append(EnsureReadableFile(_tmp(build, GITLAB_ENV_FILE)))
    return operations


def get_sources(build: BuildInfo) -> InProcessStage | None:
    """GIT_STRATEGY none/empty: the exports' files, the notice, the project dir (no hooks run)."""
    strategy, _ = build.git_strategy()
    if strategy not in ("none", "empty"):
        return None
    operations = _exports(build, job_variables(build))
    if operations is None:
        return None
    if strategy == "none":
        output = _notice("Skipping Git repository setup")
    else:
        output = _notice("Skipping Git repository setup and creating an empty build directory")
        operations.append(RemoveTree(build.project_dir))
    operations.append(MakeDirs(build.project_dir))
    return InProcessStage("get_sources", tuple(operations), output)


def cleanup_file_variables(build: BuildInfo) -> InProcessStage:
    """The job's temp files: file variables, GITLAB_ENV, the git template and external config."""
    operations: list[Operation] = [
        RemoveFile(_tmp(build, variable.key))
        for variable in build.variables
        if variable.file and SHELL_NAME.match(variable.key)
    ]
    operations += [RemoveFile(_tmp(build, GITLAB_ENV_FILE)), RemoveFile(_tmp(build, EXT_GIT_CONFIG)),
                   RemoveTree(_tmp(build, GIT_TEMPLATE_DIR))]
    return InProcessStage("cleanup_file_variables", tuple(operations))


_BUILDERS: dict[str, Callable[[BuildInfo], InProcessStage | None]] = {
    "get_sources": get_sources,
    "cleanup_file_variables": cleanup_file_variables,
}


def in_process_stage(stage: str, build: BuildInfo) -> InProcessStage | None:
    """The stage as runner-side work, or None when it needs its script (or has none to replace).

    Only for executors whose scripts run on this host as the runner's user
    (`ExecutorEnvironment.in_process_stages`); the caller decides that.
    """
    builder = _BUILDERS.get(stage)
    if builder is None or build.trace_sections or debug_trace(build):
        return None  # section markers and xtrace lines come from the shell itself
    return builder(build)

