"""runner_info with `ansible`: engine version, runners from config.toml, health by verify and by
GitLab's admin view, and never a token."""

from __future__ import annotations

from pathlib import Path

from runnerfleet.tokens import shorten_token
from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.collection.conftest import ENGINE_VENV, Ansible


def write_config(path: Path, url: str, runners: list[tuple[str, int, str]]) -> None:
    entries = "".join(
        f'\n[[runners]]\n  name = "{name}"\n  url = "{url}"\n  id = {rid}\n'
        f'  token = "{token}"\n  executor = "shell"\n' for name, rid, token in runners)
    path.write_text("concurrent = 3\n" + entries)


def test_reports_runners_health_and_gitlab_view_without_tokens(
    ansible: Ansible, coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    good = coordinator.create_runner(description="good", tag_list="a,b")
    config = tmp_path / "config.toml"
    write_config(config, coordinator.url, [("good", good["id"], good["token"]),
                                           ("stale", 999, "glrt-t1_NoSuchTokenAnywhere")])
    (tmp_path / ".runner_system_id").write_text("s_0123456789ab")
    outcome = ansible.adhoc("runner_info", {
        "config_file": str(config), "verify": True, "engine_venv": ENGINE_VENV,
        "api_url": coordinator.url, "api_token": coordinator.admin_token}, "-v")
    assert outcome.rc == 0, outcome.output
    result = outcome.result
    assert result["engine"]["gitlab_runner_version"] == "19.4.0"
    assert (result["config_exists"], result["concurrent"]) == (True, 3)
    first, second = result["runners"]
    assert (first["name"], first["id"], first["verified"]) == ("good", good["id"], True)
    assert first["short_token"] == shorten_token(good["token"])
    assert first["gitlab"] == {"exists": True, "status": "online", "paused": False,
                               "online": True, "tags": ["a", "b"]}
    assert second["verified"] is False and "is not valid" in second["verify_message"]
    assert second["gitlab"] == {"exists": False}
    assert good["token"] not in outcome.output
    assert "NoSuchTokenAnywhere" not in outcome.output
    assert coordinator.admin_token not in outcome.output


def test_a_host_whose_runner_never_ran_is_not_verified(
    ansible: Ansible, coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    good = coordinator.create_runner()
    config = tmp_path / "config.toml"
    write_config(config, coordinator.url, [("new", good["id"], good["token"])])
    outcome = ansible.adhoc("runner_info", {"config_file": str(config), "verify": True,
                                            "engine_venv": ENGINE_VENV})
    [entry] = outcome.result["runners"]
    assert entry["verified"] is None and ".runner_system_id" in entry["verify_message"]
    assert not (tmp_path / ".runner_system_id").exists()
