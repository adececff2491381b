# Copyright: runnerfleet maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Ansible module runnerfleet.gitlab.runner_info: engine version, configured runners and health."""

from __future__ import annotations

DOCUMENTATION = r"""
module: runner_info
short_description: Report the runnerfleet engine, the runners in config.toml and their health
version_added: 0.1.0
description:
  - Reads C(config.toml) with the engine and reports the engine version and every
    C([[runners]]) entry (name, URL, executor, id, token shortened as gitlab-runner logs it).
    Never returns a secret.
  - With O(verify=true) each runner's token is checked with GitLab (C(POST /runners/verify),
    as C(runnerfleet verify) does) under the host's system id.
  - With O(api_token), GitLab's view of each runner (status, paused, tags) is added for the
    runners whose URL is O(api_url).
author:
  - runnerfleet maintainers (@runnerfleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - runnerfleet.gitlab.gitlab
attributes:
  platform:
    support: full
    platforms: posix
  check_mode:
    support: full
    details: The module changes nothing; O(verify=true) still asks GitLab in check mode.
  diff_mode:
    support: none
options:
  config_file:
    description: The config file to read.
    type: path
    default: /etc/gitlab-runner/config.toml
  verify:
    description:
      - Check each runner's token with GitLab. A runner whose host has no C(.runner_system_id)
        yet (it never ran) is not verified, so that no runner manager is created for it.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Health gate after a deployment
  runnerfleet.gitlab.runner_info:
    verify: true
  register: fleet

- name: Every runner must be valid
  ansible.builtin.assert:
    that: fleet.runners | rejectattr('verified') | list | length == 0
"""

RETURN = r"""
engine:
  description: The engine's version.
  returned: always
  type: dict
  contains:
    version:
      description: runnerfleet's version.
      type: str
      sample: 0.1.0
    gitlab_runner_version:
      description: The gitlab-runner version it is compatible with (and reports to GitLab).
      type: str
      sample: 19.4.0
    revision:
      description: runnerfleet's revision.
      type: str
    python:
      description: The Python version the engine runs under.
      type: str
config_file:
  description: The config file read.
  returned: always
  type: str
config_exists:
  description: Whether the config file exists.
  returned: always
  type: bool
concurrent:
  description: The global C(concurrent) setting.
  returned: always
  type: int
runners:
  description: One entry per C([[runners]]) entry, in file order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The entry's name.
      type: str
    url:
      description: Its GitLab URL.
      type: str
    executor:
      description: Its executor.
      type: str
    id:
      description: The runner id in GitLab.
      type: int
    short_token:
      description: The token shortened as gitlab-runner logs it.
      type: str
    token_expires_at:
      description: When the token expires (ISO 8601), or null.
      type: str
    verified:
      description: With O(verify=true), whether GitLab accepted the token; null when not checked.
      type: bool
    verify_message:
      description: Why the runner is not verified, in one line.
      type: str
    gitlab:
      description: With O(api_token), GitLab's C(status), C(paused), C(online), C(tags) or C(exists=false).
      type: dict
"""

import os  # noqa: E402
import platform  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.runnerfleet.gitlab.plugins.module_utils.engine import (  # noqa: E402
    GITLAB_ARGUMENT_SPEC,
    load_engine,
)

if TYPE_CHECKING:  # the engine is imported once load_engine() has found it
    from runnerfleet.gitlab.admin import AdminClient


def argument_spec() -> dict[str, Any]:
    return {
        **GITLAB_ARGUMENT_SPEC,
        "config_file": {"type": "path", "default": "/etc/gitlab-runner/config.toml"},
        "verify": {"type": "bool", "default": False},
    }


def _iso(moment: Any) -> str | None:
    if moment is None or moment.year <= 1:  # Go's zero time: no expiry
        return None
    return str(moment.isoformat()).replace("+00:00", "Z")


def existing_system_id(config: Any) -> str | None:
    """The host's system id if the runner already stored one; never creates the file."""
    from runnerfleet.config import load_system_id  # pylint: disable=import-outside-toplevel
    from runnerfleet.config.paths import SYSTEM_ID_FILE  # pylint: disable=import-outside-toplevel

    if not (config.path.parent / SYSTEM_ID_FILE).is_file():
        return None
    return load_system_id(config.path.parent)


def verify(config: Any, runner: Any, system_id: str | None) -> tuple[bool | None, str]:
    """(verified, message) for one entry, by the engine's verify call."""
    from runnerfleet.errors import RunnerfleetError  # pylint: disable=import-outside-toplevel
    from runnerfleet.gitlab.factory import client_for_runner  # pylint: disable=import-outside-toplevel

    if system_id is None:
        return None, (f"not verified: no .runner_system_id next to {config.path} yet (the runner has not run "
                      "on this host)")
    try:
        with client_for_runner(config.path, runner) as client:
            client.verify_runner(runner.token, system_id=system_id)
    except RunnerfleetError as error:
        return False, str(error).splitlines()[0]
    return True, ""


def same_gitlab(url: str, base_url: str) -> bool:
    """Whether a runner entry's URL is the GitLab at `base_url` (an unusable URL is not)."""
    from runnerfleet.errors import TransportError  # pylint: disable=import-outside-toplevel
    from runnerfleet.gitlab.client import api_base_url  # pylint: disable=import-outside-toplevel

    try:
        return api_base_url(url) == base_url
    except TransportError:
        return False


def gitlab_view(admin: AdminClient, runner_id: int) -> dict[str, Any]:
    details = admin.get_runner(runner_id) if runner_id else None
    if details is None:
        return {"exists": False}
    return {"exists": True, "status": details.get("status"), "paused": details.get("paused"),
            "online": details.get("online"), "tags": sorted(details.get("tag_list") or [])}


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    if module.check_mode and not os.path.exists(p["config_file"]):
        # A dry run on a host the role has not provisioned: nothing is configured, which is
        # known without the engine (that the role would install first).
        module.exit_json(changed=False, config_file=p["config_file"], config_exists=False, runners=[],
                         msg="check mode: no config file yet")
    load_engine(module, changes=False)
    from runnerfleet import version  # pylint: disable=import-outside-toplevel
    from runnerfleet.config import ConfigFile  # pylint: disable=import-outside-toplevel
    from runnerfleet.errors import RunnerfleetError  # pylint: disable=import-outside-toplevel
    from runnerfleet.gitlab import GitLabClient, TLSSettings  # pylint: disable=import-outside-toplevel
    from runnerfleet.gitlab.admin import AdminClient  # pylint: disable=import-outside-toplevel

    try:
        config = ConfigFile.load(p["config_file"])
        system_id = existing_system_id(config) if p["verify"] else None
        admin = None
        if p["api_token"] and p["api_url"]:
            client = GitLabClient(p["api_url"], tls=TLSSettings(ca_file=p["ca_file"]))
            admin = AdminClient(client, p["api_token"])
        runners = []
        for entry in config.config.runners:
            item: dict[str, Any] = {
                "name": entry.name, "url": entry.url, "executor": entry.executor,
                "id": entry.id, "short_token": entry.short_token,
                "token_expires_at": _iso(entry.token_expires_at),
                "verified": None, "verify_message": "",
            }
            if p["verify"]:
                item["verified"], item["verify_message"] = verify(config, entry, system_id)
            if admin is not None and same_gitlab(entry.url, admin.client.base_url):
                item["gitlab"] = gitlab_view(admin, entry.id)
            runners.append(item)
        if admin is not None:
            admin.client.close()
    except RunnerfleetError as error:
        module.fail_json(msg=str(error))
    for warning in config.warnings:
        module.warn(warning)
    module.exit_json(
        changed=False,
        engine={"version": version.VERSION,
                "gitlab_runner_version": version.COMPATIBLE_GITLAB_RUNNER_VERSION,
                "revision": version.REVISION, "python": platform.python_version()},
        config_file=str(config.path),
        config_exists=config.exists,
        concurrent=config.config.concurrent,
        runners=runners,
    )


if __name__ == "__main__":
    main()
