"""Which files go into an archive: `--path`/`--exclude` globs and `--untracked`, as gitlab-runner picks them.

Every path is taken relative to the working directory (the project dir); matches outside it are
refused with a warning. A matched directory brings everything below it; symbolic links are kept
as links and never followed. The result is sorted, the order entries are archived in.
"""

from __future__ import annotations

import os
import posixpath
import stat
import subprocess
from dataclasses import dataclass, field

from runnerfleet.artifacts import globs
from runnerfleet.artifacts.report import Reporter


class OutsideProject(ValueError):
    """A path that resolves outside the working directory."""


@dataclass
class FileSet:
    """The selected entries: slash-separated path relative to `wd` → its lstat result."""

    wd: str
    files: dict[str, os.stat_result] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)

    def sorted_paths(self) -> list[str]:
        return sorted(self.files)

    def newest_mtime(self) -> float:
        return max((st.st_mtime for st in self.files.values()), default=0.0)

    def __len__(self) -> int:
        return len(self.files)


def relative_in_project(wd: str, path: str) -> str:
    """`path` (possibly with a glob part) relative to `wd`; OutsideProject when it leaves `wd`."""
    if posixpath.normpath(path) == posixpath.normpath(wd):
        return "."
    base, rest = globs.split_pattern(path) if globs.has_meta(path) else (path, "")
    rel = os.path.relpath(os.path.abspath(os.path.join(wd, base)), wd)
    if rel == ".." or rel.startswith("../"):
        raise OutsideProject(f"artifact path is not a subpath of project directory: {path}")
    return posixpath.normpath(posixpath.join(rel, rest)) if rest else rel


class Collector:
    """Builds a FileSet the way gitlab-runner's fileArchiver does, reporting as it goes."""

    def __init__(self, wd: str, reporter: Reporter, exclude: list[str] | None = None) -> None:
        self.set = FileSet(wd=wd)
        self.reporter = reporter
        self.exclude = list(exclude or [])

    def _excluded_by(self, rel: str) -> str | None:
        for pattern in self.exclude:
            try:
                rel_pattern = relative_in_project(self.set.wd, pattern)
            except OutsideProject as exc:
                self.reporter.warning(f"isExcluded: {exc}")
                return None
            if globs.match(rel_pattern, rel):
                return pattern
        return None

    def _process(self, match: str) -> bool:
        """Add one matched path (relative to wd); False when excluded, missing or outside."""
        absolute = os.path.abspath(os.path.join(self.set.wd, match))
        rel = os.path.relpath(absolute, self.set.wd)
        if rel.startswith("../") or rel == "..":
            self.reporter.warning(f"{match}: not supported: outside build directory")
            return False
        rule = self._excluded_by(rel)
        if rule is not None:
            self.set.excluded[rule] = self.set.excluded.get(rule, 0) + 1
            return False
        try:
            st = os.lstat(absolute)
        except FileNotFoundError:
            return False
        except OSError as exc:
            self.reporter.warning(f"{match}: {exc.strerror or exc}")
            return False
        if rel != ".":
            self.set.files[rel] = st
        return True

    def _walk(self, match: str) -> int:
        """The match and, for a real directory, everything below it (links are not followed)."""
        found = 1 if self._process(match) else 0
        top = os.path.join(self.set.wd, match)
        if os.path.isdir(top) and not os.path.islink(top):
            for current, dirs, files in os.walk(top, followlinks=False):
                dirs.sort()
                rel_dir = os.path.relpath(current, self.set.wd)
                for name in sorted(dirs + files):
                    rel = name if rel_dir == "." else posixpath.join(rel_dir, name)
                    if self._process(rel):
                        found += 1
        return found

    def add_path(self, path: str) -> None:
        if path == "":
            self.reporter.warning("No matching files. Path is empty.")
            return
        try:
            rel = relative_in_project(self.set.wd, path)
        except OutsideProject as exc:
            self.reporter.warning(f"processPath: {exc}")
            return
        found = sum(self._walk(m) for m in globs.glob(rel, self.set.wd))
        if found == 0:
            self.reporter.warning(f"{path}: no matching files. Ensure that the artifact path is relative "
                                  f"to the working directory ({self.set.wd})")
        else:
            self.reporter.info(f"{path}: found {found} matching artifact files and directories")

    def add_untracked(self) -> None:
        """Every file `git ls-files -o` reports (ignored files included, as gitlab-runner does)."""
        try:
            listing = subprocess.run(["git", "ls-files", "-o", "-z"], cwd=self.set.wd, check=True,
                                     stdout=subprocess.PIPE).stdout
        except (OSError, subprocess.CalledProcessError) as exc:
            self.reporter.warning(f"untracked: {exc}")
            return
        found = 0
        for raw in listing.split(b"\0"):
            if raw and self._process(os.fsdecode(raw)):
                found += 1
        if found == 0:
            self.reporter.warning("untracked: no files")
        else:
            self.reporter.info(f"untracked: found {found} files")

    def report_excluded(self) -> None:
        for rule, count in self.set.excluded.items():
            self.reporter.info(f"{rule}: excluded {count} files")


def collect(wd: str, paths: list[str], *, exclude: list[str] | None = None, untracked: bool = False,
            reporter: Reporter | None = None) -> FileSet:
    """The FileSet for these options, logging what each path found."""
    collector = Collector(wd, reporter or Reporter(), exclude)
    for path in paths:
        collector.add_path(path)
    if untracked:
        collector.add_untracked()
    collector.report_excluded()
    return collector.set


def is_regular(st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode)
