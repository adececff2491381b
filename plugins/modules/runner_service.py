# Copyright: runnerfleet maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Ansible module runnerfleet.gitlab.runner_service: the systemd unit that runs `runnerfleet run`."""

from __future__ import annotations

DOCUMENTATION = r"""
module: runner_service
short_description: Write the systemd unit, proxy drop-in and proxy environment of a runner service
version_added: 0.1.0
description:
  - Writes C(<unit_dir>/<name>.service) running C(runnerfleet run --config ... --working-directory
    ... --service <name>), with C(KillSignal=SIGQUIT) and C(KillMode=mixed) (a stop lets running
    jobs finish), C(TimeoutStopSec=) O(drain_timeout) and C(ExecReload=/bin/kill -HUP $MAINPID).
  - Proxy settings go to C(<env_dir>/<name>-proxy.env) (mode C(0600)) referenced by the drop-in
    C(<unit_dir>/<name>.service.d/proxy.conf) with C(EnvironmentFile=), so a proxy password is
    never in a unit file or in C(systemctl show). Without proxies both files are removed.
  - Does not run systemctl. It returns what the service needs, for the role's handlers -
    RV(needs_daemon_reload) when unit files changed, RV(needs_restart) when the unit or the
    proxy environment changed, RV(needs_reload) (SIGHUP, no interruption) when only
    C(config.toml) changed (O(config_changed)).
author:
  - runnerfleet maintainers (@runnerfleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - runnerfleet.gitlab.gitlab.engine
attributes:
  platform:
    support: full
    platforms: posix
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The proxy environment file is shown with passwords masked.
options:
  name:
    description: The service name (unit C(<name>.service), C(--service <name>)).
    type: str
    default: runnerfleet
  state:
    description: V(absent) removes the unit, the drop-in and the environment file.
    type: str
    choices: [present, absent]
    default: present
  executable:
    description: The runnerfleet command; defaults to C(<engine_venv>/bin/runnerfleet).
    type: path
  config_file:
    description: The config file passed with C(--config).
    type: path
    default: /etc/gitlab-runner/config.toml
  working_directory:
    description: The directory passed with C(--working-directory) (builds and caches of the shell executor).
    type: path
    default: /var/lib/runnerfleet
  user:
    description: Run the whole service as this user (C(User=)).
    type: str
  job_user:
    description: Run shell-executor jobs as this user (C(run --user)); needs the service to run as root.
    type: str
  drain_timeout:
    description:
      - How long a stop waits for running jobs to finish before they are killed
        (C(TimeoutStopSec=)); seconds, a systemd time span like V(2h), or V(infinity).
      - The default is GitLab's default job timeout, one hour.
    type: str
    default: "3600"
  http_proxy:
    description: C(HTTP_PROXY) for the runner (may hold credentials; they are kept out of output).
    type: str
  https_proxy:
    description: C(HTTPS_PROXY) for the runner (may hold credentials; they are kept out of output).
    type: str
  no_proxy:
    description: C(NO_PROXY) for the runner, for example V(localhost,127.0.0.1,.internal).
    type: str
  config_changed:
    description:
      - Whether C(config.toml) changed in this play (the C(changed) of the
        M(runnerfleet.gitlab.runner_config) task); makes RV(needs_reload) true unless a restart is
        needed anyway.
    type: bool
    default: false
  unit_dir:
    description: Where unit files go.
    type: path
    default: /etc/systemd/system
  env_dir:
    description: Where the proxy environment file goes.
    type: path
    default: /etc/runnerfleet
"""

EXAMPLES = r"""
- name: Run the runner as a service behind the local cntlm proxy
  runnerfleet.gitlab.runner_service:
    name: runnerfleet
    user: gitlab-runner
    working_directory: /home/gitlab-runner
    drain_timeout: 2h
    https_proxy: http://172.17.0.1:3128
    no_proxy: localhost,127.0.0.1
    config_changed: "{{ runner_config_result is changed }}"
  register: runner_service
  notify: reload or restart runnerfleet
"""

RETURN = r"""
unit_path:
  description: The unit file.
  returned: always
  type: str
  sample: /etc/systemd/system/runnerfleet.service
dropin_path:
  description: The proxy drop-in (present only when proxies are set).
  returned: always
  type: str
  sample: /etc/systemd/system/runnerfleet.service.d/proxy.conf
env_path:
  description: The 0600 proxy environment file (present only when proxies are set).
  returned: always
  type: str
  sample: /etc/runnerfleet/runnerfleet-proxy.env
changed_files:
  description: The files written or removed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
needs_daemon_reload:
  description: Unit files changed; run C(systemctl daemon-reload).
  returned: always
  type: bool
needs_restart:
  description: The unit or the proxy environment changed; the service must be restarted.
  returned: always
  type: bool
needs_reload:
  description: Only config.toml changed; send SIGHUP (C(systemctl reload)) instead of restarting.
  returned: always
  type: bool
"""

import os  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.runnerfleet.gitlab.plugins.module_utils.engine import (  # noqa: E402
    ENGINE_ARGUMENT_SPEC,
    load_engine,
)


def argument_spec() -> dict[str, Any]:
    return {
        **ENGINE_ARGUMENT_SPEC,
        "name": {"type": "str", "default": "runnerfleet"},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "executable": {"type": "path"},
        "config_file": {"type": "path", "default": "/etc/gitlab-runner/config.toml"},
        "working_directory": {"type": "path", "default": "/var/lib/runnerfleet"},
        "user": {"type": "str"},
        "job_user": {"type": "str"},
        "drain_timeout": {"type": "str", "default": "3600"},
        "http_proxy": {"type": "str"},
        "https_proxy": {"type": "str"},
        "no_proxy": {"type": "str"},
        "config_changed": {"type": "bool", "default": False},
        "unit_dir": {"type": "path", "default": "/etc/systemd/system"},
        "env_dir": {"type": "path", "default": "/etc/runnerfleet"},
    }


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    # The unit files are the engine's (`runnerfleet install` writes the same ones); a dry run on
    # a host without the engine still names the paths the role looks at.
    unit_path = os.path.join(p["unit_dir"], f"{p['name']}.service")
    load_engine(module, facts={
        "unit_path": unit_path,
        "dropin_path": os.path.join(p["unit_dir"], f"{p['name']}.service.d", "proxy.conf"),
        "env_path": os.path.join(p["env_dir"], f"{p['name']}-proxy.env"),
        "changed_files": [], "needs_daemon_reload": False, "needs_restart": False,
        "needs_reload": False,
    }, requires="runnerfleet.systemd.unit")
    from runnerfleet.systemd import unit as unit_files  # pylint: disable=import-outside-toplevel

    secrets: list[str] = []
    for option in ("http_proxy", "https_proxy"):
        secrets += unit_files.proxy_passwords(p[option])
    for secret in secrets:
        module.no_log_values.add(secret)
    spec = unit_files.ServiceSpec(
        name=p["name"],
        executable=p["executable"] or os.path.join(p["engine_venv"], "bin", "runnerfleet"),
        config_file=p["config_file"],
        working_directory=p["working_directory"],
        user=p["user"],
        job_user=p["job_user"],
        drain_timeout=p["drain_timeout"],
    )
    problem = unit_files.spec_problem(spec)
    if problem:
        module.fail_json(msg=problem)
    env = unit_files.proxy_environment({k: p[k] for k in ("http_proxy", "https_proxy", "no_proxy")})
    planned_files = unit_files.plan(spec, p["unit_dir"], p["env_dir"], env, p["state"] == "present")
    unit, dropin, env_file = planned_files
    changing = [f for f in planned_files if unit_files.differs(f)]
    diffs = [unit_files.file_diff(f, secrets) for f in changing] if module._diff else []  # pylint: disable=protected-access
    if not module.check_mode:
        for planned in changing:
            try:
                unit_files.apply(planned)
            except OSError as error:
                module.fail_json(msg=f"{planned.path}: cannot write: {error.strerror or error}")
    units_changed = unit in changing or dropin in changing
    present = p["state"] == "present"
    needs_restart = present and (units_changed or env_file in changing)
    result: dict[str, Any] = {
        "changed": bool(changing),
        "unit_path": unit.path,
        "dropin_path": dropin.path,
        "env_path": env_file.path,
        "changed_files": [f.path for f in changing],
        "needs_daemon_reload": units_changed,
        "needs_restart": needs_restart,
        "needs_reload": present and p["config_changed"] and not needs_restart,
    }
    if diffs:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
