#!/usr/bin/env python3
"""Build the runnerfleet engine's wheelhouse on the controller, once per engine source and target.

Usage (the role runs it with the controller's Python, which needs pip and a package index):

    wheelhouse.py --source COLLECTION_ROOT --cache DIR [--controller-venv DIR]
                  --target PYTHON_VERSION:MACHINE:GLIBC [--target ...]

For each target (for example ``3.11:x86_64:2.36``) it writes ``DIR/<hash>-cp311-x86_64.tar``: the
engine wheel (``pip wheel`` of the source shipped in the collection) plus binary wheels of all its
dependencies for that Python and machine (``pip download``), so that a host without any package
index installs with ``pip install --no-index --find-links``. The tarball is reproducible (sorted,
fixed times and owners) and is never rebuilt while the source is unchanged, so copying it to the
hosts is idempotent. With ``--controller-venv`` the engine is also installed into a venv on the
controller, for the modules that talk to GitLab from there.

Prints one JSON object: ``{"changed": bool, "hash": str, "tarballs": {target: path},
"controller_python": path}``. Errors are one line on stderr, exit status 1.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The parts of the collection that make up the engine's source distribution.
SOURCE_FILES = ("pyproject.toml", "README.md")
SOURCE_DIRS = ("src",)
SKIPPED_PARTS = {"__pycache__"}
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".egg-info")
# Oldest manylinux level tried; every level up to the host's glibc is offered to pip, because pip
# does not widen one --platform to the older levels it implies.
OLDEST_GLIBC_MINOR = 17


class Failure(Exception):
    """A problem the role reports as one line."""


def source_paths(root: Path) -> list[Path]:
    """The engine source files under the collection root, relative, sorted."""
    found: list[Path] = []
    for name in SOURCE_FILES:
        if (root / name).is_file():
            found.append(Path(name))
    for top in SOURCE_DIRS:
        for dirpath, dirnames, filenames in os.walk(root / top):
            dirnames[:] = sorted(d for d in dirnames
                                 if d not in SKIPPED_PARTS and not d.endswith(SKIPPED_SUFFIXES))
            for filename in filenames:
                if not filename.endswith(SKIPPED_SUFFIXES):
                    found.append((Path(dirpath) / filename).relative_to(root))
    if Path("pyproject.toml") not in found or not any(p.parts[0] == "src" for p in found):
        raise Failure(f"{root} has no engine source (pyproject.toml and src/): install the "
                      "collection from a tarball built with ansible-galaxy collection build, or "
                      "set runner_engine_source to a runnerfleet checkout")
    return sorted(found)


def source_hash(root: Path, paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path).encode() + b"\0")
        digest.update((root / path).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def parse_target(text: str) -> tuple[str, str, int]:
    """`3.11:x86_64:2.36` -> ("3.11", "x86_64", 36)."""
    try:
        version, machine, glibc = text.split(":")
        major, minor = (int(part) for part in version.split("."))
        glibc_major, glibc_minor = (int(part) for part in glibc.split(".")[:2])
    except ValueError:
        raise Failure(f"target {text!r} is not PYTHON_VERSION:MACHINE:GLIBC_VERSION "
                      "(for example 3.11:x86_64:2.36)") from None
    if (major, minor) < (3, 11):
        raise Failure(f"the runnerfleet engine needs Python 3.11 or later; a host has {version}: "
                      "set runner_python to a newer interpreter on that host")
    if glibc_major != 2 or glibc_minor < OLDEST_GLIBC_MINOR:
        raise Failure(f"a host has glibc {glibc}; binary wheels need glibc 2.{OLDEST_GLIBC_MINOR} "
                      "or later")
    return f"{major}.{minor}", machine, glibc_minor


def platforms(machine: str, glibc_minor: int) -> list[str]:
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(glibc_minor, OLDEST_GLIBC_MINOR - 1, -1)]
    return [*tags, f"manylinux2014_{machine}"]


def run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines()
                 if line.strip() and not line.startswith("WARNING: Location")]
        last = lines[-1].strip() if lines else f"exit status {done.returncode}"
        raise Failure(f"{what} failed: {last}")


@contextmanager
def locked(cache: Path) -> Iterator[None]:
    """One build at a time per cache (parallel plays share the controller)."""
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def copy_source(root: Path, paths: list[Path], into: Path) -> None:
    for path in paths:
        (into / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / path, into / path)


def build_engine_wheel(python: str, root: Path, paths: list[Path], work: Path) -> Path:
    """`pip wheel` of a clean copy of the source (the collection directory stays untouched)."""
    tree = work / "source"
    copy_source(root, paths, tree)
    wheels = work / "engine"
    run([python, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(tree)],
        "pip wheel of the engine source")
    built = sorted(wheels.glob("runnerfleet-*.whl"))
    if not built:
        raise Failure("pip wheel of the engine source produced no runnerfleet wheel")
    return built[0]


def write_tarball(wheels: Path, tarball: Path) -> None:
    """A reproducible tar of the wheels: same bytes for the same wheels."""
    partial = tarball.with_suffix(".partial")
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as archive:
        for wheel in sorted(wheels.iterdir()):
            data = wheel.read_bytes()
            info = tarfile.TarInfo(wheel.name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            archive.addfile(info, io.BytesIO(data))
    partial.replace(tarball)


def build_target(python: str, engine_wheel: Path, target: str, tarball: Path, work: Path) -> None:
    version, machine, glibc_minor = parse_target(target)
    wheels = work / f"wheels-{tarball.stem}"
    wheels.mkdir()
    shutil.copy2(engine_wheel, wheels / engine_wheel.name)
    argv = [python, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
            "--python-version", version, "--implementation", "cp", "--dest", str(wheels)]
    for tag in platforms(machine, glibc_minor):
        argv += ["--platform", tag]
    run([*argv, str(wheels / engine_wheel.name)],
        f"pip download of the engine's dependencies for Python {version} on {machine}")
    write_tarball(wheels, tarball)


def controller_venv(python: str, venv: Path, engine_wheel: Path, digest: str) -> bool:
    """The engine in a venv on the controller; True when (re)installed."""
    stamp = venv / f".runnerfleet-source-{digest}"
    if stamp.exists():
        return False
    if not (venv / "bin" / "python").exists():
        run([python, "-m", "venv", str(venv)], f"creating the controller venv {venv}")
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--force-reinstall",
         str(engine_wheel)], f"installing the engine into the controller venv {venv}")
    for old in venv.glob(".runnerfleet-source-*"):
        old.unlink()
    stamp.touch()
    return True


def tarball_name(digest: str, target: str) -> str:
    version, machine, _ = parse_target(target)
    return f"{digest}-cp{version.replace('.', '')}-{machine}.tar"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", required=True, type=Path)
    parser.add_argument("--cache", required=True, type=Path)
    parser.add_argument("--controller-venv", type=Path)
    parser.add_argument("--target", action="append", default=[])
    args = parser.parse_args(argv)
    python = sys.executable
    try:
        root = args.source.resolve()
        paths = source_paths(root)
        digest = source_hash(root, paths)
        targets = sorted(set(args.target))
        tarballs = {t: args.cache / tarball_name(digest, t) for t in targets}
        changed = False
        with locked(args.cache), tempfile.TemporaryDirectory(prefix="wheelhouse-") as tmp:
            work = Path(tmp)
            engine_wheel: Path | None = None
            for target, tarball in tarballs.items():
                if tarball.exists():
                    continue
                engine_wheel = engine_wheel or build_engine_wheel(python, root, paths, work)
                build_target(python, engine_wheel, target, tarball, work)
                changed = True
            controller_python = ""
            if args.controller_venv:
                venv = args.controller_venv.expanduser()
                if not (venv / f".runnerfleet-source-{digest}").exists():
                    engine_wheel = engine_wheel or build_engine_wheel(python, root, paths, work)
                changed = controller_venv(python, venv, engine_wheel or Path(), digest) or changed
                controller_python = str(venv / "bin" / "python")
    except (Failure, OSError) as error:
        print(f"wheelhouse: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"changed": changed, "hash": digest,
                      "tarballs": {t: str(p) for t, p in tarballs.items()},
                      "controller_python": controller_python}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
