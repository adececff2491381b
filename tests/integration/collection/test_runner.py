"""runner with `ansible-playbook`/`ansible` against the coordinator: one runner per identity,
only the changed attributes updated, the token only in registered results, clear failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from runnerfleet.errors import ApiError
from runnerfleet.gitlab import GitLabClient
from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.collection.conftest import ENGINE_VENV, Ansible

SYSTEM_ID = "s_00000000abcd"

PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/runnerfleet.gitlab.gitlab:
      api_url: "{url}"
      api_token: "{pat}"
      engine_venv: "{venv}"
  tasks:
    - name: the runner with its first settings
      runnerfleet.gitlab.runner:
        identity: web-1/shell
        description: web-1 shell
        tags: [linux, shell]
        run_untagged: false
      register: created
    - name: keep what the next task needs, never shown
      ansible.builtin.copy:
        content: "{{{{ created | to_json }}}}"
        dest: "{out}/created.json"
        mode: "0600"
      no_log: true
    - name: the same settings again
      runnerfleet.gitlab.runner:
        identity: web-1/shell
        description: web-1 shell
        tags: [shell, linux]
        run_untagged: false
      register: again
    - name: new tags only
      runnerfleet.gitlab.runner:
        identity: web-1/shell
        tags: [linux, shell, docker]
      register: retagged
    - name: save results
      ansible.builtin.copy:
        content: "{{{{ {{'again': again, 'retagged': retagged}} | to_json }}}}"
        dest: "{out}/later.json"
        mode: "0600"
"""


def admin(coordinator: RunningCoordinator) -> httpx.Client:
    return httpx.Client(base_url=coordinator.url + "/api/v4", trust_env=False,
                        headers={"PRIVATE-TOKEN": coordinator.admin_token})


def verify(coordinator: RunningCoordinator, token: str) -> int:
    """The HTTP status GitLab gives this runner token on /runners/verify."""
    with GitLabClient(coordinator.url, env={}) as client:
        try:
            client.verify_runner(token, system_id=SYSTEM_ID)
        except ApiError as error:
            return error.status
    return 200


def run_lifecycle(ansible: Ansible, coordinator: RunningCoordinator,
                  tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any], str]:
    out = tmp_path / "out"
    out.mkdir()
    play = PLAY.format(url=coordinator.url, pat=coordinator.admin_token, venv=ENGINE_VENV,
                       out=out)
    outcome = ansible.playbook(play, "-v", "--diff")
    assert outcome.rc == 0, outcome.output
    created = json.loads((out / "created.json").read_text())
    later = json.loads((out / "later.json").read_text())
    return created, later, outcome.output


def test_create_then_nothing_then_only_tags_without_reregistration(
    ansible: Ansible, coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    created, later, _ = run_lifecycle(ansible, coordinator, tmp_path)
    token = created["runner"]["token"]
    assert created["changed"] is True and token.startswith("glrt-")
    assert later["again"]["changed"] is False and "token" not in later["again"]["runner"]
    assert later["retagged"]["changed"] is True
    assert later["retagged"]["id"] == later["again"]["id"] == created["id"]
    with admin(coordinator) as c:
        record = c.get(f"/runners/{created['id']}").json()
        assert len(c.get("/runners/all").json()) == 1
    assert sorted(record["tag_list"]) == ["docker", "linux", "shell"]
    assert (record["description"], record["run_untagged"]) == ("web-1 shell", False)
    assert verify(coordinator, token) == 200  # the host's token still works
    creations = [e for e in coordinator.requests_log()
                 if e.get("method") == "POST" and str(e.get("path", "")).endswith("/user/runners")]
    assert len(creations) == 1
    updates = [e for e in coordinator.requests_log() if e.get("method") == "PUT"]
    assert len(updates) == 1


def test_no_token_or_pat_in_the_playbook_output(
    ansible: Ansible, coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    created, _, output = run_lifecycle(ansible, coordinator, tmp_path)
    assert "the output has been hidden" in output
    assert created["runner"]["token"] not in output
    assert coordinator.admin_token not in output
    assert "web-1 shell" in output  # the later results and diffs are shown


def test_absent_deletes_the_runner_and_its_token_stops_working(
    ansible: Ansible, coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    created, _, _ = run_lifecycle(ansible, coordinator, tmp_path)
    args = {"api_url": coordinator.url, "api_token": coordinator.admin_token,
            "identity": "web-1/shell", "state": "absent", "engine_venv": ENGINE_VENV}
    gone = ansible.adhoc("runner", args)
    again = ansible.adhoc("runner", args)
    assert (gone.rc, gone.result.get("changed")) == (0, True), gone.output
    assert (again.rc, again.result.get("changed")) == (0, False), again.output
    assert verify(coordinator, created["runner"]["token"]) == 403
    assert coordinator.admin_token not in gone.output + again.output


def test_check_mode_creates_nothing(ansible: Ansible, coordinator: RunningCoordinator) -> None:
    outcome = ansible.adhoc("runner", {"api_url": coordinator.url, "engine_venv": ENGINE_VENV,
                                       "api_token": coordinator.admin_token, "identity": "x"},
                            "--check")
    assert (outcome.rc, outcome.result["changed"], outcome.result["id"]) == (0, True, None)
    with admin(coordinator) as c:
        assert c.get("/runners/all").json() == []


def test_unreachable_gitlab_fails_with_one_line_and_no_traceback(ansible: Ansible) -> None:
    outcome = ansible.adhoc("runner", {"api_url": "http://127.0.0.1:9", "identity": "x",
                                       "api_token": "glpat-DoNotPrintMe",
                                       "engine_venv": ENGINE_VENV}, "-vvv")
    assert outcome.rc != 0
    assert outcome.result["msg"].startswith(
        "GET http://127.0.0.1:9/api/v4/runners/all: cannot connect to 127.0.0.1:9")
    assert "Traceback" not in outcome.output and "DoNotPrintMe" not in outcome.output


def test_a_429_storm_fails_with_the_rate_limit_line(
    ansible: Ansible, coordinator: RunningCoordinator
) -> None:
    coordinator.inject_fault(method="GET", path="/api/v4/runners/all", status=429, count=5,
                             headers={"RateLimit-ResetTime": "Mon, 02 Jan 2006 15:04:05 GMT"})
    outcome = ansible.adhoc("runner", {"api_url": coordinator.url, "identity": "x",
                                       "api_token": coordinator.admin_token,
                                       "engine_venv": ENGINE_VENV})
    assert outcome.rc != 0
    assert "rate limit" in outcome.result["msg"] and "\n" not in outcome.result["msg"]
    assert "Traceback" not in outcome.output and coordinator.admin_token not in outcome.output


def test_a_missing_engine_names_the_venv_and_the_role(
    ansible: Ansible, coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    outcome = ansible.adhoc("runner", {"api_url": coordinator.url, "identity": "x",
                                       "api_token": coordinator.admin_token,
                                       "engine_venv": str(tmp_path / "no-venv")})
    assert outcome.rc != 0
    assert outcome.result["msg"].startswith(
        f"cannot import the runnerfleet engine: engine_venv {tmp_path / 'no-venv'} does not "
        "exist")
    assert "install the engine with role runnerfleet.gitlab.runner first" in outcome.result["msg"]


def test_a_bad_option_value_is_one_line_naming_the_option(ansible: Ansible) -> None:
    outcome = ansible.adhoc("runner", {"api_url": "http://127.0.0.1:9", "identity": "x",
                                       "api_token": "glpat-x", "state": "gone"})
    assert outcome.rc != 0
    assert outcome.result["msg"].startswith("value of state must be one of: present, absent, "
                                            "paused")
