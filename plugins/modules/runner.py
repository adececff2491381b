# Copyright: runnerfleet maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Ansible module runnerfleet.gitlab.runner: a runner record in GitLab, found by a stable identity."""

from __future__ import annotations

DOCUMENTATION = r"""
module: runner
short_description: Create, update, pause or delete a runner in GitLab
version_added: 0.1.0
description:
  - Manages the runner record in GitLab (not the host's C(config.toml); see
    M(runnerfleet.gitlab.runner_config)).
  - "With O(api_token) (a personal access token) the runner is created with
    C(POST /api/v4/user/runners) and later found again by O(identity), which is kept as the last
    line of the runner's C(maintenance_note), C(runnerfleet-identity: <identity>). Renaming the
    description or changing tags never creates a second runner."
  - Only the attributes the task sets are compared and changed (C(PUT /api/v4/runners/:id));
    the runner keeps its token, so the hosts using it need no re-registration.
  - Without O(api_token), O(registration_token) registers a runner the legacy way
    (C(POST /api/v4/runners)). A runner that already has a valid O(token) is then left as it is
    (its attributes can only be changed with an O(api_token)).
  - A new token is returned in RV(runner.token) only when the runner was created or its token
    reset; the action plugin then marks the whole task result C(no_log), so the token reaches
    C(register) but never the screen or a log.
  - Runs wherever the engine is importable; usually with C(delegate_to=localhost) and
    C(run_once=true) or on the runner host with the engine's venv.
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
    details:
      - Without O(api_token), whether a runner or manager exists cannot be read, so check mode
        reports a change for O(state=absent).
  diff_mode:
    support: full
options:
  state:
    description:
      - V(present) makes sure the runner exists with the given attributes.
      - V(paused) is V(present) with O(paused=true).
      - V(absent) deletes the runner (O(absent_scope=runner)) or only this host's runner manager
        (O(absent_scope=manager)).
    type: str
    choices: [present, absent, paused]
    default: present
  identity:
    description:
      - A stable key naming this runner, unique in the GitLab instance, for example
        C({{ inventory_hostname }}/docker). Required with O(api_token) unless
        O(absent_scope=manager).
      - Stored as the last line of the runner's maintenance note; the rest of the note is
        O(maintenance_note).
    type: str
  runner_type:
    description:
      - Where the runner is available. V(group) needs O(group), V(project) needs O(project).
      - A runner cannot change its type; an existing runner of another type is an error.
    type: str
    choices: [instance, group, project]
    default: instance
  group:
    description: The group of a V(group) runner, as numeric id or full path.
    type: str
  project:
    description: The project of a V(project) runner, as numeric id or full path (C(group/project)).
    type: str
  description:
    description: The runner's description (shown in GitLab and in job logs).
    type: str
  tags:
    description: The runner's tags; the order does not matter.
    type: list
    elements: str
  run_untagged:
    description: Whether the runner takes jobs without tags.
    type: bool
  locked:
    description: Whether a project runner is locked to its current projects.
    type: bool
  access_level:
    description: V(ref_protected) runs only jobs of protected branches and tags.
    type: str
    choices: [not_protected, ref_protected]
  maximum_timeout:
    description: The longest a job may run on this runner, in seconds (at least 600).
    type: int
  paused:
    description:
      - Whether the runner is paused (takes no jobs). Left as it is when not set, except with
        O(state=paused).
    type: bool
  maintenance_note:
    description:
      - Free text for administrators. The identity line is appended to it; when not set, the
        note's current text is kept.
    type: str
  absent_scope:
    description:
      - With O(state=absent), V(runner) deletes the runner with all its managers (by O(identity)
        with O(api_token), else by O(token)).
      - V(manager) deletes only the runner manager of O(system_id) (this host), keeping the runner
        and its other hosts; it needs O(token) and O(system_id).
    type: str
    choices: [runner, manager]
    default: runner
  token:
    description:
      - The runner's current authentication token, as the host's C(config.toml) has it.
      - Needed to delete a runner manager, to delete a runner without O(api_token), and to keep a
        legacy-registered runner instead of registering it again.
    type: str
  system_id:
    description:
      - The host's runner system id (C(.runner_system_id) next to C(config.toml), C(s_...)).
      - Needed with O(absent_scope=manager); also sent when checking O(token) without O(api_token).
    type: str
  registration_token:
    description:
      - A legacy registration token (instance, group or project runners token) used to register
        the runner when no O(api_token) is given. GitLab answers 410 when registration tokens are
        disabled; use O(api_token) then.
    type: str
  reset_token:
    description:
      - With O(api_token) and an existing runner, reset its token and return the new one in
        RV(runner.token) (for a host that lost its token). The old token stops working at once.
    type: bool
    default: false
notes:
  - Finding a runner by O(identity) reads every runner's details once (C(GET /runners/all) and
    C(GET /runners/:id)); runners with the same type and description are read first.
"""

EXAMPLES = r"""
- name: Create the runner once and keep its token for config.toml
  runnerfleet.gitlab.runner:
    api_url: https://gitlab.example.com/
    api_token: "{{ vault_gitlab_pat }}"
    identity: "{{ inventory_hostname }}/shell"
    description: "{{ inventory_hostname }} shell"
    tags: [linux, shell]
    run_untagged: false
  delegate_to: localhost
  register: gitlab_runner

- name: Pause every runner of a host for maintenance
  runnerfleet.gitlab.runner:
    identity: "{{ inventory_hostname }}/shell"
    state: paused
  module_defaults:
    group/runnerfleet.gitlab.gitlab:
      api_url: https://gitlab.example.com/
      api_token: "{{ vault_gitlab_pat }}"
  delegate_to: localhost

- name: Remove only this host's runner manager, keep the runner for the other hosts
  runnerfleet.gitlab.runner:
    api_url: https://gitlab.example.com/
    state: absent
    absent_scope: manager
    token: "{{ runner_token }}"
    system_id: "{{ runner_system_id }}"
"""

RETURN = r"""
id:
  description: The runner's id in GitLab; null when it does not exist (or not yet, in check mode).
  returned: always
  type: int
  sample: 42
runner:
  description: The runner as GitLab has it after the task; empty when absent.
  returned: always
  type: dict
  contains:
    id:
      description: The runner's id.
      type: int
      sample: 42
    identity:
      description: The identity found in the maintenance note.
      type: str
      sample: host1/shell
    runner_type:
      description: V(instance_type), V(group_type) or V(project_type).
      type: str
      sample: instance_type
    description:
      description: The description.
      type: str
      sample: host1 shell
    tags:
      description: The tags, sorted.
      type: list
      elements: str
      sample: [linux, shell]
    run_untagged:
      description: Whether untagged jobs are taken.
      type: bool
    locked:
      description: Whether the runner is locked.
      type: bool
    access_level:
      description: V(not_protected) or V(ref_protected).
      type: str
    maximum_timeout:
      description: The maximum job timeout in seconds, or null.
      type: int
    paused:
      description: Whether the runner is paused.
      type: bool
    maintenance_note:
      description: The maintenance note without the identity line.
      type: str
    status:
      description: GitLab's status (V(online), V(offline), V(never_contacted), ...).
      type: str
    token:
      description:
        - The new runner authentication token (C(glrt-...)); only when the runner was created or
          its token reset. The task result is then marked C(no_log).
      type: str
      returned: when created or reset
    token_expires_at:
      description: When the new token expires (ISO 8601), or null.
      type: str
      returned: when created or reset
"""

from typing import TYPE_CHECKING, Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.runnerfleet.gitlab.plugins.module_utils.engine import (  # noqa: E402
    GITLAB_ARGUMENT_SPEC,
    load_engine,
)
from ansible_collections.runnerfleet.gitlab.plugins.module_utils.runner_record import (  # noqa: E402
    RUNNER_TYPES,
    attribute_changes,
    compose_note,
    desired_attributes,
    identity_problem,
    note_problem,
    public_view,
    split_note,
)

if TYPE_CHECKING:  # the engine is imported once load_engine() has found it
    from runnerfleet.gitlab.admin import AdminClient


def argument_spec() -> dict[str, Any]:
    return {
        **GITLAB_ARGUMENT_SPEC,
        "state": {"type": "str", "default": "present", "choices": ["present", "absent", "paused"]},
        "identity": {"type": "str"},
        "runner_type": {"type": "str", "default": "instance",
                        "choices": ["instance", "group", "project"]},
        "group": {"type": "str"},
        "project": {"type": "str"},
        "description": {"type": "str"},
        "tags": {"type": "list", "elements": "str"},
        "run_untagged": {"type": "bool"},
        "locked": {"type": "bool"},
        "access_level": {"type": "str", "choices": ["not_protected", "ref_protected"]},
        "maximum_timeout": {"type": "int"},
        "paused": {"type": "bool"},
        "maintenance_note": {"type": "str"},
        "absent_scope": {"type": "str", "default": "runner", "choices": ["runner", "manager"]},
        "token": {"type": "str", "no_log": True},
        "system_id": {"type": "str"},
        "registration_token": {"type": "str", "no_log": True},
        "reset_token": {"type": "bool", "default": False},
    }


def usage_problem(p: dict[str, Any]) -> str | None:
    """The first option combination that cannot work, as one line naming the options."""
    if not p["api_url"]:
        return "api_url is required: the GitLab URL, e.g. https://gitlab.example.com/"
    manager = p["state"] == "absent" and p["absent_scope"] == "manager"
    if manager and not (p["token"] and p["system_id"]):
        return "absent_scope=manager needs token (the runner's token) and system_id (the host's)"
    if p["api_token"] and not manager:
        if p["identity"] is None:
            return "identity is required with api_token: the stable key this runner is found by"
        problem = identity_problem(p["identity"])
        if problem:
            return problem
    if not p["api_token"] and not manager:
        if p["state"] == "absent" and not p["token"]:
            return "state=absent needs api_token and identity, or the runner's token"
        if p["state"] != "absent" and not p["registration_token"]:
            return (f"state={p['state']} needs api_token (a personal access token) or "
                    "registration_token")
    if p["state"] == "paused" and p["paused"] is False:
        return "paused=false contradicts state=paused"
    if p["runner_type"] == "group" and not p["group"] and p["api_token"] and p["state"] != "absent":
        return "runner_type=group needs group (the group's id or full path)"
    if (p["runner_type"] == "project" and not p["project"] and p["api_token"]
            and p["state"] != "absent"):
        return "runner_type=project needs project (the project's id or full path)"
    if p["maximum_timeout"] is not None and p["maximum_timeout"] < 600:
        return "maximum_timeout must be at least 600 seconds (GitLab's minimum)"
    if p["maintenance_note"] is not None and p["identity"]:
        return note_problem(p["maintenance_note"], p["identity"])
    return None


class RunnerTask:
    """One run of the module: talks to GitLab through the engine and builds the result."""

    def __init__(self, module: AnsibleModule) -> None:
        from runnerfleet.gitlab import GitLabClient, TLSSettings  # pylint: disable=import-outside-toplevel
        from runnerfleet.gitlab.admin import AdminClient  # pylint: disable=import-outside-toplevel

        self.module = module
        self.p = module.params
        self.check = module.check_mode
        self.client = GitLabClient(self.p["api_url"], tls=TLSSettings(ca_file=self.p["ca_file"]))
        self.admin = AdminClient(self.client, self.p["api_token"]) if self.p["api_token"] else None

    def close(self) -> None:
        self.client.close()

    # -- helpers -----------------------------------------------------------------------------

    def _result(self, changed: bool, before: dict[str, Any], after: dict[str, Any],
                runner: dict[str, Any]) -> dict[str, Any]:
        return {
            "changed": changed,
            "id": runner.get("id"),
            "runner": runner,
            "diff": {"before": before, "after": after},
        }

    def _admin(self) -> AdminClient:
        if self.admin is None:  # usage_problem() lets only api_token tasks come here
            raise RuntimeError("api_token is required to find a runner by identity")
        return self.admin

    def find(self) -> dict[str, Any] | None:
        """The runner whose maintenance note carries our identity (full details), or None."""
        admin = self._admin()
        identity = self.p["identity"]
        wanted_type = RUNNER_TYPES[self.p["runner_type"]]
        summaries = list(admin.iter_runners())
        # Likely matches first: same type and description; the note decides.
        summaries.sort(key=lambda r: (r.get("runner_type") != wanted_type,
                                      r.get("description") != self.p["description"]))
        for summary in summaries:
            runner_id = summary.get("id")
            if not isinstance(runner_id, int):
                continue
            details = admin.get_runner(runner_id)
            if details and split_note(details.get("maintenance_note"))[1] == identity:
                return details
        return None

    # -- state=present/paused with a personal access token ------------------------------------

    def present(self) -> dict[str, Any]:
        admin = self._admin()
        found = self.find()
        if found is None:
            return self.create()
        wanted_type = RUNNER_TYPES[self.p["runner_type"]]
        if found.get("runner_type") != wanted_type:
            self.module.fail_json(
                msg=f"runner {found.get('id')} with identity {self.p['identity']!r} is a "
                f"{found.get('runner_type')} runner, not {wanted_type}; a runner cannot change "
                "its type: delete it with state=absent first")
        wanted = desired_attributes(self.p, self.p["identity"], found.get("maintenance_note"))
        changes = attribute_changes(found, wanted)
        before = public_view(found)
        details = found
        if changes and not self.check:
            details = admin.update_runner(int(found["id"]), changes) or found
        after = public_view(details if not self.check else {**found, **changes})
        runner = dict(after)
        changed = bool(changes)
        if self.p["reset_token"]:
            changed = True
            if not self.check:
                reset = self.client.reset_token_with_pat(int(found["id"]), self.p["api_token"])
                runner["token"] = reset.token
                runner["token_expires_at"] = _iso(reset.token_expires_at)
        before.pop("status", None)
        after.pop("status", None)
        return self._result(changed, before, after, runner)

    def create(self) -> dict[str, Any]:
        admin = self._admin()
        p = self.p
        wanted = desired_attributes(p, p["identity"], None)
        planned = public_view({**wanted, "runner_type": RUNNER_TYPES[p["runner_type"]]})
        planned.pop("status", None)
        if self.check:
            return self._result(True, {}, planned, planned)
        group_id = admin.namespace_id("group", p["group"]) if p["runner_type"] == "group" \
            else None
        project_id = admin.namespace_id("project", p["project"]) \
            if p["runner_type"] == "project" else None
        options: dict[str, Any] = {
            k: v for k, v in wanted.items()
            if k in ("description", "run_untagged", "locked", "access_level", "maximum_timeout",
                     "paused", "maintenance_note")
        }
        if "tag_list" in wanted:
            options["tag_list"] = wanted["tag_list"]
        registration = self.client.create_runner(
            p["api_token"], runner_type=RUNNER_TYPES[p["runner_type"]], group_id=group_id,
            project_id=project_id, **options,
        )
        details = admin.get_runner(registration.id) or {"id": registration.id, **wanted}
        runner = public_view(details)
        after = dict(runner)
        after.pop("status", None)
        runner["token"] = registration.token
        runner["token_expires_at"] = _iso(registration.token_expires_at)
        return self._result(True, {}, after, runner)

    # -- state=present/paused with a registration token (legacy) -----------------------------

    def register_legacy(self) -> dict[str, Any]:
        from runnerfleet.errors import ApiError  # pylint: disable=import-outside-toplevel
        from runnerfleet.gitlab import runner_info  # pylint: disable=import-outside-toplevel

        p = self.p
        if p["token"]:
            try:
                known = self.client.verify_runner(p["token"], system_id=p["system_id"] or "")
                kept = {"id": known.id or None}
                return self._result(False, kept, kept, kept)
            except ApiError as error:
                if error.status != 403:
                    raise
        tags = sorted(set(p["tags"] or []))
        note = p["maintenance_note"] or ""
        if p["identity"]:
            note = compose_note(note, p["identity"])
        paused = bool(p["paused"]) or p["state"] == "paused"
        planned: dict[str, Any] = {"description": p["description"] or "", "tags": tags,
                                   "paused": paused}
        if self.check:
            return self._result(True, {}, planned, dict(planned, id=None))
        registration = self.client.register_runner(
            p["registration_token"],
            description=p["description"] or "",
            tag_list=tags,
            run_untagged=bool(p["run_untagged"]) if p["run_untagged"] is not None else not tags,
            locked=p["locked"] if p["locked"] is not None else True,
            access_level=p["access_level"] or "",
            maximum_timeout=p["maximum_timeout"] or 0,
            paused=paused,
            maintenance_note=note,
            info={k: v for k, v in runner_info().items()
                  if k in ("name", "version", "revision", "platform", "architecture")},
        )
        created: dict[str, Any] = {**planned, "id": registration.id, "token": registration.token,
                                   "token_expires_at": _iso(registration.token_expires_at)}
        return self._result(True, {}, dict(planned, id=registration.id), created)

    # -- state=absent ------------------------------------------------------------------------

    def absent_runner(self) -> dict[str, Any]:
        from runnerfleet.errors import ApiError  # pylint: disable=import-outside-toplevel

        if self.admin is not None and self.p["identity"]:
            found = self.find()
            if found is None:
                return self._result(False, {}, {}, {})
            if not self.check:
                self.admin.delete_runner(int(found["id"]))
            before = public_view(found)
            before.pop("status", None)
            return self._result(True, before, {}, {})
        if self.check:
            return self._result(True, {"token": "(given)"}, {}, {})
        try:
            self.client.unregister_runner(self.p["token"])
        except ApiError as error:
            if error.status == 403:  # GitLab does not know the token: the runner is gone
                return self._result(False, {}, {}, {})
            raise
        return self._result(True, {"token": "(given)"}, {}, {})

    def absent_manager(self) -> dict[str, Any]:
        from runnerfleet.errors import ApiError  # pylint: disable=import-outside-toplevel

        system_id = self.p["system_id"]
        before = {"system_id": system_id}
        if self.admin is not None and self.p["identity"]:
            found = self.find()
            managers = self.admin.runner_managers(int(found["id"])) if found else []
            if not any(m.get("system_id") == system_id for m in managers):
                return self._result(False, {}, {}, {})
        if self.check:
            return self._result(True, before, {}, {})
        try:
            self.client.unregister_runner_manager(self.p["token"], system_id)
        except ApiError as error:
            if error.status in (403, 404):  # no such runner, or no manager for this host
                return self._result(False, {}, {}, {})
            raise
        return self._result(True, before, {}, {})

    def run(self) -> dict[str, Any]:
        if self.p["state"] == "absent":
            if self.p["absent_scope"] == "manager":
                return self.absent_manager()
            return self.absent_runner()
        if self.admin is not None:
            return self.present()
        return self.register_legacy()


def _iso(moment: Any) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    problem = usage_problem(module.params)
    if problem:
        module.fail_json(msg=problem)
    load_engine(module)
    from runnerfleet.errors import RunnerfleetError  # pylint: disable=import-outside-toplevel

    try:
        task = RunnerTask(module)
    except RunnerfleetError as error:
        module.fail_json(msg=str(error))
    try:
        result = task.run()
    except RunnerfleetError as error:
        module.fail_json(msg=str(error))
    finally:
        task.close()
    if not module._diff:  # pylint: disable=protected-access
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
