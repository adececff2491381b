"""Make this repository importable as the collection `ansible_collections.runnerfleet.gitlab`.

Ansible finds collection content by the path `ansible_collections/<namespace>/<name>`; a
symlink to the repository in a temporary directory gives modules, module_utils and the
`ansible` command the same layout an installed collection has.
"""

from __future__ import annotations

import atexit
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
_ROOT: Path | None = None


def collections_root() -> Path:
    """A directory holding `ansible_collections/runnerfleet/gitlab` → the repository."""
    global _ROOT
    if _ROOT is None:
        root = Path(tempfile.mkdtemp(prefix="rf-collections-"))
        atexit.register(shutil.rmtree, root, True)
        link = root / "ansible_collections" / "runnerfleet" / "gitlab"
        link.parent.mkdir(parents=True)
        link.symlink_to(REPO_ROOT, target_is_directory=True)
        _ROOT = root
    return _ROOT


def make_importable() -> None:
    root = str(collections_root())
    if root not in sys.path:
        sys.path.insert(0, root)


def run_module(
    main: Callable[[], None],
    args: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    *,
    check: bool = False,
    diff: bool = False,
) -> dict[str, Any]:
    """Run a module's main() in this process as Ansible would; its JSON result."""
    from ansible.module_utils.testing import patch_module_args

    full = {**args, "_ansible_check_mode": check, "_ansible_diff": diff}
    capsys.readouterr()
    with patch_module_args(full), pytest.raises(SystemExit):
        main()
    out = capsys.readouterr().out.strip()
    result: dict[str, Any] = json.loads(out.splitlines()[-1])
    return result
