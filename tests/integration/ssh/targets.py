"""Remote targets with runnerfleet installed: host-built wheels, in a container or baked into a VM disk.

Job scripts on an SSH host or in a VM call `runnerfleet artifacts-uploader/cache-extractor/...`,
as gitlab-runner's call `gitlab-runner` there. The target has no pip and no index: runnerfleet
and its dependencies are built into wheels here once per test process and installed offline.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.ssh.sshd import IMAGE, REPO_ROOT, docker

_built: dict[str, Path] = {}
_images: list[str] = []


def build_wheelhouse() -> Path:
    """runnerfleet's wheel, its dependencies' wheels and pip's (built once per test process)."""
    if "wheels" in _built:
        return _built["wheels"]
    root = Path(tempfile.mkdtemp(prefix="rf-wheelhouse-"))
    atexit.register(shutil.rmtree, root, True)
    tree, wheels = root / "tree", root / "wheels"
    # Build from a copy: pip's build leaves build/ and *.egg-info in the tree it builds.
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, tree / name)
    shutil.copytree(REPO_ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(wheels),
                           str(tree), "pip"], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"pip wheel failed: {done.stderr[-2000:]}")
    shutil.rmtree(tree)
    _built["wheels"] = wheels
    return wheels


def install_runnerfleet(container: str, wheels: Path) -> None:
    """`pip install --no-index` into a venv in `container`, `runnerfleet` linked onto its PATH."""
    docker("cp", f"{wheels}/.", f"{container}:/tmp/wheels")
    script = ("python3 -m venv --without-pip /opt/runnerfleet"
              " && pip_wheel=$(ls /tmp/wheels/pip-*.whl)"
              " && /opt/runnerfleet/bin/python3 \"$pip_wheel/pip\" install -q --no-index"
              " --find-links /tmp/wheels --no-cache-dir runnerfleet"
              " && ln -s /opt/runnerfleet/bin/runnerfleet /usr/local/bin/runnerfleet"
              " && rm -rf /tmp/wheels")
    docker("exec", container, "sh", "-c", script, timeout=300)


def golden_disk_image() -> str:
    """The test image plus runnerfleet: the disk of golden VMs (built once per test process)."""
    if _images:
        return _images[0]
    wheels = build_wheelhouse()
    name = f"rf-golden-build-{uuid.uuid4().hex[:8]}"
    tag = f"runnerfleet-test/vm-disk:{uuid.uuid4().hex[:10]}"
    docker("run", "-d", "--name", name, "--label", "runnerfleet-test=vm-disk", IMAGE, "sleep", "infinity")
    try:
        install_runnerfleet(name, wheels)
        docker("commit", name, tag, timeout=300)
    finally:
        docker("rm", "-f", name, check=False)
    _images.append(tag)
    return tag


def remove_golden_disk_images() -> None:
    """Remove the disk images this process built (session teardown; idempotent)."""
    while _images:
        docker("rmi", "-f", _images.pop(), check=False)


@pytest.fixture(scope="session")
def vm_disk(test_image: None) -> Iterator[str]:
    """The golden VM's disk: the test image with git, sshd and runnerfleet (removed at the end)."""
    try:
        yield golden_disk_image()
    finally:
        remove_golden_disk_images()
