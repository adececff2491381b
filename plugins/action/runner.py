# Copyright: runnerfleet maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Action plugin for runnerfleet.gitlab.runner: a result carrying a new token is marked no_log."""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):  # type: ignore[misc]  # ansible-core ships no type hints
    """Runs the module; hides the whole result from callbacks when it holds a runner token.

    The module cannot censor its own return value without destroying it (Ansible replaces every
    no_log value in a module's output), yet `register` must receive the token so the next task
    can write it to config.toml. Ansible keeps a registered result intact and shows callbacks
    only the censored form when the result has `_ansible_no_log` set.
    """

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        result.update(self._execute_module(task_vars=task_vars))
        runner = result.get("runner")
        if isinstance(runner, dict) and runner.get("token"):
            result["_ansible_no_log"] = True
        return result
