"""The runner tasks of role runnerfleet.gitlab.runner against the coordinator: one GitLab runner
per host and name, config.toml written once and kept, a lost token replaced without a second
runner, attribute changes without re-registration, clear failures without secrets."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import httpx

from runnerfleet.config import ConfigFile
from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.roles.conftest import RoleRunner


def role_vars(coordinator: RunningCoordinator, config: Path, **runner: Any) -> dict[str, Any]:
    return {
        "runner_gitlab_url": coordinator.url,
        "runner_gitlab_api_token": coordinator.admin_token,
        "runner_config_file": str(config),
        "runner_concurrent": 3,
        "runner_runners": [{"name": "build", "tags": ["linux", "shell"], "run_untagged": False,
                            **runner}],
    }


def gitlab_runners(coordinator: RunningCoordinator) -> list[dict[str, Any]]:
    with httpx.Client(base_url=coordinator.url + "/api/v4", trust_env=False,
                      headers={"PRIVATE-TOKEN": coordinator.admin_token}) as client:
        return [client.get(f"/runners/{r['id']}").json() for r in client.get("/runners/all").json()]


def entry(config: Path) -> Any:
    (only,) = ConfigFile.load(config).config.runners
    return only


def changed_count(output: str) -> int:
    match = re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)", output)
    assert match, output
    return int(match.group(1))


def test_first_run_creates_the_runner_and_writes_a_private_config(
    role: RoleRunner, coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    outcome = role.runners(role_vars(coordinator, config, limit=2))
    assert outcome.rc == 0, outcome.output
    (record,) = gitlab_runners(coordinator)
    assert record["maintenance_note"].endswith("runnerfleet-identity: localhost/build")
    assert sorted(record["tag_list"]) == ["linux", "shell"]
    assert record["description"] == "localhost build"
    runner = entry(config)
    assert (runner.name, runner.id, runner.executor, runner.limit) == ("build", record["id"], "shell", 2)
    assert runner.token.startswith("glrt-")
    assert ConfigFile.load(config).config.concurrent == 3
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert runner.token not in outcome.output and coordinator.admin_token not in outcome.output


def test_a_second_run_changes_nothing(
    role: RoleRunner, coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    assert role.runners(role_vars(coordinator, config)).rc == 0
    before = config.read_bytes()
    again = role.runners(role_vars(coordinator, config))
    assert again.rc == 0 and changed_count(again.output) == 0, again.output
    assert config.read_bytes() == before
    assert len(gitlab_runners(coordinator)) == 1


def test_new_tags_update_the_runner_in_place_and_keep_the_token(
    role: RoleRunner, coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    assert role.runners(role_vars(coordinator, config)).rc == 0
    token = entry(config).token
    retagged = role.runners(role_vars(coordinator, config, tags=["linux", "shell", "big"]))
    assert retagged.rc == 0, retagged.output
    (record,) = gitlab_runners(coordinator)
    assert sorted(record["tag_list"]) == ["big", "linux", "shell"]
    assert entry(config).token == token


def test_a_host_that_lost_its_config_gets_a_new_token_for_the_same_runner(
    role: RoleRunner, coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    assert role.runners(role_vars(coordinator, config)).rc == 0
    first = entry(config)
    config.unlink()
    outcome = role.runners(role_vars(coordinator, config))
    assert outcome.rc == 0, outcome.output
    second = entry(config)
    assert second.id == first.id and second.token != first.token
    assert [r["id"] for r in gitlab_runners(coordinator)] == [first.id]


def test_absent_removes_the_entry_and_the_runner(
    role: RoleRunner, coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    assert role.runners(role_vars(coordinator, config)).rc == 0
    gone = role.runners(role_vars(coordinator, config, state="absent"))
    assert gone.rc == 0, gone.output
    assert ConfigFile.load(config).config.runners == []
    assert gitlab_runners(coordinator) == []


def test_a_refused_token_fails_with_the_runner_named_and_no_secret_shown(
    role: RoleRunner, coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    bad = {**role_vars(coordinator, config), "runner_gitlab_api_token": "glpat-not-a-valid-token-42"}
    outcome = role.runners(bad)
    assert outcome.rc != 0
    assert "runner build of localhost: " in outcome.output
    assert "401" in outcome.output
    assert "glpat-not-a-valid-token-42" not in outcome.output
    assert not config.exists()


def test_a_registration_token_registers_each_runner_once_and_unregisters_it(
    role: RoleRunner, coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    legacy = {**role_vars(coordinator, config), "runner_gitlab_api_token": "",
              "runner_registration_token": coordinator.registration_token}
    first = role.runners(legacy)
    again = role.runners(legacy)
    assert first.rc == 0 and again.rc == 0, first.output + again.output
    assert changed_count(again.output) == 0
    (record,) = gitlab_runners(coordinator)
    assert entry(config).id == record["id"]
    assert coordinator.registration_token not in first.output + again.output
    absent = {**legacy, "runner_runners": [{"name": "build", "state": "absent"}]}
    gone = role.runners(absent)
    assert gone.rc == 0, gone.output
    assert ConfigFile.load(config).config.runners == []
    assert gitlab_runners(coordinator) == []


def test_each_runner_gets_its_executor_table_and_the_proxy_environment(
    role: RoleRunner, coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    settings = {
        **role_vars(coordinator, config),
        "runner_http_proxy": "http://172.17.0.1:3128",
        "runner_no_proxy": "localhost",
        "runner_runners": [
            {"name": "docker", "executor": "docker", "docker": {"image": "alpine:3.20"},
             "environment": ["FOO=bar"]},
            {"name": "ssh", "executor": "ssh",
             "ssh": {"host": "10.0.0.5", "port": "22", "user": "ci", "identity_file": "/k"}},
            {"name": "vm", "executor": "virtualbox", "virtualbox": {"base_name": "ci-base"},
             "settings": {"builds_dir": "/builds"}},
        ],
    }
    outcome = role.runners(settings)
    assert outcome.rc == 0, outcome.output
    docker, ssh, vm = ConfigFile.load(config).config.runners
    assert (docker.executor, docker.docker.image) == ("docker", "alpine:3.20")
    assert docker.environment == ["FOO=bar", "HTTP_PROXY=http://172.17.0.1:3128", "NO_PROXY=localhost",
                                  "http_proxy=http://172.17.0.1:3128", "no_proxy=localhost"]
    assert (ssh.executor, ssh.ssh.host, ssh.ssh.user) == ("ssh", "10.0.0.5", "ci")
    assert ssh.ssh.identity_file == "/k"
    assert (vm.executor, vm.virtualbox.base_name, vm.builds_dir) == ("virtualbox", "ci-base", "/builds")
    assert len(gitlab_runners(coordinator)) == 3


def test_a_proxy_removed_from_the_inventory_is_removed_from_the_job_environment(
    role: RoleRunner, coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    runners = [{"name": "build", "executor": "shell"},
               {"name": "deploy", "executor": "shell", "environment": ["FOO=bar"]}]
    proxied = {**role_vars(coordinator, config), "runner_https_proxy": "http://172.17.0.1:3128",
               "runner_runners": runners}
    assert (first := role.runners(proxied)).rc == 0, first.output
    assert all("HTTPS_PROXY=http://172.17.0.1:3128" in r.environment
               for r in ConfigFile.load(config).config.runners)
    direct = {**role_vars(coordinator, config), "runner_runners": runners}
    again = role.runners(direct)
    assert again.rc == 0, again.output
    build, deploy = ConfigFile.load(config).config.runners
    assert (build.environment, deploy.environment) == ([], ["FOO=bar"])
    assert "172.17.0.1:3128" not in config.read_text()
