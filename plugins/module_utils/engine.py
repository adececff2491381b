# Copyright: runnerfleet maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Make the runnerfleet engine importable for a module: from the host's engine venv or as installed."""

from __future__ import annotations

import glob
import importlib
import os
import site
import sys
from typing import Any

DEFAULT_ENGINE_VENV = "/opt/runnerfleet/venv"
INSTALL_HINT = "install the engine with role runnerfleet.gitlab.runner first"
MIN_PYTHON = (3, 11)

ENGINE_ARGUMENT_SPEC: dict[str, Any] = {
    "engine_venv": {"type": "path", "default": DEFAULT_ENGINE_VENV},
}
GITLAB_ARGUMENT_SPEC: dict[str, Any] = {
    "api_url": {"type": "str"},
    "api_token": {"type": "str", "no_log": True},
    "ca_file": {"type": "path"},
    **ENGINE_ARGUMENT_SPEC,
}


class EngineMissing(Exception):
    """The engine cannot be imported; `str()` is the one line the module fails with."""


def engine_site_dirs(venv: str) -> list[str]:
    """The venv's site-packages directories, the one of the running Python's version first."""
    own = os.path.join(venv, "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}", "site-packages")
    found = sorted(glob.glob(os.path.join(venv, "lib", "python3*", "site-packages")))
    return sorted(found, key=lambda path: path != own)


def _add_site_dir(path: str) -> None:
    # addsitedir also runs the venv's .pth files (editable installs need them); the new entries
    # go first so that the venv's engine wins over another copy the Python may have.
    before = list(sys.path)
    site.addsitedir(path)
    added = [entry for entry in sys.path if entry not in before]
    sys.path[:] = added + before


def import_engine(venv: str | None) -> None:
    """Put the engine on sys.path (venv first) and import it, or raise EngineMissing."""
    venv = venv or DEFAULT_ENGINE_VENV
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if sys.version_info[:2] < MIN_PYTHON:
        raise EngineMissing(
            "the runnerfleet engine needs Python 3.11 or later but this module runs under Python "
            f"{running}; set ansible_python_interpreter={venv}/bin/python"
        )
    dirs = engine_site_dirs(venv) if os.path.isdir(venv) else []
    for path in dirs:
        if path not in sys.path:
            _add_site_dir(path)
    try:
        import runnerfleet  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
    except ImportError as error:
        if not os.path.isdir(venv):
            where = f"engine_venv {venv} does not exist"
        elif not dirs:
            where = f"engine_venv {venv} has no lib/python3.*/site-packages"
        else:
            where = f"engine_venv {venv} has no usable runnerfleet package ({error})"
        raise EngineMissing(
            f"cannot import the runnerfleet engine: {where} and Python {running} "
            f"({sys.executable}) does not have it either; "
            f"{INSTALL_HINT}, or set engine_venv to the venv the engine is installed in"
        ) from None


def require_engine_module(name: str, venv: str | None) -> None:
    """Import `name` from the engine, or raise EngineMissing: an engine installed by an older
    collection may lack what this module needs until the role installs the new one."""
    try:
        importlib.import_module(name)
    except ImportError:
        raise EngineMissing(
            f"the runnerfleet engine in {venv or DEFAULT_ENGINE_VENV} is older than this "
            f"collection (it has no {name}); {INSTALL_HINT} (it upgrades the engine)"
        ) from None


def load_engine(module: Any, changes: bool = True, facts: dict[str, Any] | None = None,
                requires: str | None = None) -> None:
    """import_engine() for an AnsibleModule: fails the module with one line when it cannot.

    In check mode a host the role has not provisioned yet has no engine (the role's install
    tasks only report what they would do), so the task reports that it would run after the
    install instead of failing the dry run: changed for modules that change something
    (`changes`), skipped for read-only ones; `facts` are returned in that case too (what later
    tasks read from the result, e.g. a path). `requires`: an engine module that must exist (an
    older engine without it is treated like a missing one).
    """
    try:
        import_engine(module.params.get("engine_venv"))
        if requires:
            require_engine_module(requires, module.params.get("engine_venv"))
    except EngineMissing as error:
        if module.check_mode:
            reason = f"check mode: the engine this task needs is not on this host yet ({error})"
            if changes:
                module.exit_json(changed=True, msg=reason + "; this task would run after the install",
                                 **(facts or {}))
            module.exit_json(changed=False, skipped=True, msg=reason, **(facts or {}))
        module.fail_json(msg=str(error))
