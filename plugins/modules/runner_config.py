# Copyright: runnerfleet maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Ansible module runnerfleet.gitlab.runner_config: [[runners]] entries and global keys in config.toml."""

from __future__ import annotations

DOCUMENTATION = r"""
module: runner_config
short_description: Manage runner entries and global settings in config.toml
version_added: 0.1.0
description:
  - Edits C(config.toml) (gitlab-runner's format) in place through the engine's round-trip
    model. Comments, unknown keys and the fields the runner writes itself (C(id), C(token),
    C(token_obtained_at), C(token_expires_at)) are kept; only keys whose value differs are
    written.
  - A token the runner rotated on disk is never replaced unless O(token) differs from it and
    O(overwrite_token=true).
  - The whole file is validated before it is written; problems are reported one per line with
    their key path, and nothing is written.
  - Writes are atomic (temporary file, fsync, rename) with mode C(0600) unless O(mode) says
    otherwise.
  - The diff shows the file before and after with every secret masked (tokens shortened as
    gitlab-runner logs them, passwords and keys as C(***)).
author:
  - runnerfleet maintainers (@runnerfleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - runnerfleet.gitlab.gitlab.engine
  - ansible.builtin.files
attributes:
  platform:
    support: full
    platforms: posix
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  path:
    description: The config file.
    type: path
    default: /etc/gitlab-runner/config.toml
    aliases: [config_file]
  name:
    description:
      - The C(name) of the C([[runners]]) entry to manage. Without it only O(global_settings)
        are applied.
    type: str
  state:
    description: V(absent) removes the entry named O(name) (the runner stays in GitLab).
    type: str
    choices: [present, absent]
    default: present
  url:
    description: The entry's GitLab URL (C(url)).
    type: str
  executor:
    description: The entry's executor (V(shell), V(docker), V(ssh), V(virtualbox), ...).
    type: str
  token:
    description:
      - The runner's authentication token; required to add a new entry.
      - For an existing entry it is written only when the file has no token, or when it differs
        and O(overwrite_token=true).
    type: str
  overwrite_token:
    description: Replace a different token in the file with O(token).
    type: bool
    default: false
  runner_id:
    description: The runner's id in GitLab (C(id)), written with a new token or when the entry has none.
    type: int
  token_expires_at:
    description: When O(token) expires (ISO 8601, as M(runnerfleet.gitlab.runner) returns it).
    type: str
  settings:
    description:
      - Further keys of the entry, as in C(config.toml) (C(limit), C(environment),
        C(docker) as a dictionary, ...). Nested dictionaries are merged into existing tables;
        a V(null) value removes a key.
      - Values under secret keys (C(password), C(SecretKey), ...) are kept out of all output.
    type: dict
    default: {}
  global_settings:
    description:
      - Global keys (C(concurrent), C(check_interval), C(log_level), C(shutdown_timeout),
        C(listen_address), C(session_server) as a dictionary, ...).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Add the runner created by runnerfleet.gitlab.runner, keeping whatever the file holds
  runnerfleet.gitlab.runner_config:
    name: "{{ inventory_hostname }}-shell"
    url: https://gitlab.example.com/
    executor: shell
    token: "{{ gitlab_runner.runner.token }}"
    runner_id: "{{ gitlab_runner.id }}"
    token_expires_at: "{{ gitlab_runner.runner.token_expires_at }}"
    settings:
      limit: 2
      environment: ["HTTPS_PROXY=http://172.17.0.1:3128"]
    global_settings:
      concurrent: 4
  no_log: true

- name: Remove an entry
  runnerfleet.gitlab.runner_config:
    name: old-runner
    state: absent
"""

RETURN = r"""
path:
  description: The config file.
  returned: always
  type: str
  sample: /etc/gitlab-runner/config.toml
runner:
  description: The managed entry (no secrets); empty without O(name) or when absent.
  returned: always
  type: dict
  contains:
    name:
      description: The entry's name.
      type: str
    index:
      description: Its position among the C([[runners]]) entries.
      type: int
    url:
      description: The GitLab URL.
      type: str
    executor:
      description: The executor.
      type: str
    id:
      description: The runner id.
      type: int
    short_token:
      description: The token shortened as gitlab-runner logs it.
      type: str
token_kept:
  description: True when O(token) differed from the file's token and the file's was kept.
  returned: always
  type: bool
changed_keys:
  description: The key paths that were (or in check mode would be) written.
  returned: always
  type: list
  elements: str
  sample: ["runners[0].limit", "concurrent"]
"""

import os  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.runnerfleet.gitlab.plugins.module_utils.config_edit import (  # noqa: E402
    OWN_OPTIONS,
    ConfigEdit,
    EditProblem,
    mask_secrets,
    parse_timestamp,
    secret_keys,
    secret_values,
)
from ansible_collections.runnerfleet.gitlab.plugins.module_utils.engine import (  # noqa: E402
    ENGINE_ARGUMENT_SPEC,
    load_engine,
)

DEFAULT_MODE = 0o600


def argument_spec() -> dict[str, Any]:
    return {
        **ENGINE_ARGUMENT_SPEC,
        "path": {"type": "path", "default": "/etc/gitlab-runner/config.toml",
                 "aliases": ["config_file"]},
        "name": {"type": "str"},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "url": {"type": "str"},
        "executor": {"type": "str"},
        "token": {"type": "str", "no_log": True},
        "overwrite_token": {"type": "bool", "default": False},
        "runner_id": {"type": "int"},
        "token_expires_at": {"type": "str", "no_log": False},
        "settings": {"type": "dict", "default": {}},
        "global_settings": {"type": "dict", "default": {}},
    }


def edit(module: AnsibleModule, config: Any) -> tuple[ConfigEdit, dict[str, Any]]:
    p = module.params
    editor = ConfigEdit(config)
    editor.set_globals(p["global_settings"])
    runner: dict[str, Any] = {}
    if p["name"] and p["state"] == "absent":
        editor.remove_runner(p["name"])
    elif p["name"]:
        owned = {"token": p["token"], "id": p["runner_id"],
                 "token_expires_at": parse_timestamp(p["token_expires_at"], "token_expires_at")}
        index = editor.set_runner(p["name"], {"url": p["url"], "executor": p["executor"]},
                                  p["settings"], owned, p["overwrite_token"])
        entry = config.config.runners[index]
        runner = {"name": entry.name, "index": index, "url": entry.url,
                  "executor": entry.executor, "id": entry.id, "short_token": entry.short_token}
    return editor, runner


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           add_file_common_args=True)
    p = module.params
    misplaced = sorted(set(p["settings"]) & set(OWN_OPTIONS))
    if misplaced:
        option = "runner_id" if misplaced[0] == "id" else misplaced[0]
        module.fail_json(msg=f"settings.{misplaced[0]}: set it with the option {option} instead")
    if not p["name"] and (p["state"] == "absent" or any(
            p[k] is not None for k in ("url", "executor", "token", "runner_id"))
            or p["settings"]):
        module.fail_json(msg="name is required to manage a [[runners]] entry")
    load_engine(module)
    from runnerfleet.config import ConfigFile  # pylint: disable=import-outside-toplevel
    from runnerfleet.errors import ConfigError  # pylint: disable=import-outside-toplevel

    # Secrets given in settings stay out of every output, like the no_log options.
    for value in secret_values([p["settings"], p["global_settings"]], secret_keys()):
        module.no_log_values.add(value)
    path = p["path"]
    try:
        config = ConfigFile.load(path)
        before = config.dumps()
        existed = config.exists
        editor, runner = edit(module, config)
        after = config.dumps()
        changed = after != before or (not existed and bool(after))
        if changed and not module.check_mode:
            config.save()
    except (ConfigError, EditProblem) as error:
        module.fail_json(msg=str(error))
    for warning in config.warnings:
        module.warn(warning)
    file_args = module.load_file_common_arguments(p)
    if file_args.get("mode") is None:
        file_args["mode"] = DEFAULT_MODE
    if os.path.exists(path) or not module.check_mode:
        changed = module.set_fs_attributes_if_different(file_args, changed)
    result: dict[str, Any] = {
        "changed": changed,
        "path": path,
        "runner": runner,
        "token_kept": editor.token_kept,
        "changed_keys": editor.changed_keys,
    }
    if module._diff:  # pylint: disable=protected-access
        hidden = list(module.no_log_values)
        result["diff"] = {
            "before": mask_secrets(before, hidden), "after": mask_secrets(after, hidden),
            "before_header": path, "after_header": path,
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
