"""unregister, verify, list and reset-token against the coordinator, as a platform engineer runs them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import tomlkit

from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.cli.conftest import CliRunner


def _register(runnerfleet: CliRunner, coordinator: RunningCoordinator, config: Path, name: str,
              *, legacy: bool = False) -> dict[str, Any]:
    if legacy:
        args = ["--registration-token", coordinator.registration_token]
        created: dict[str, Any] = {}
    else:
        created = coordinator.create_runner(description=name)
        args = ["--token", created["token"]]
    result = runnerfleet("register", "-n", "-c", str(config), "-u", coordinator.url, *args,
                         "--name", name, "--executor", "shell")
    assert result.code == 0, result.output
    entry = tomlkit.parse(config.read_text())["runners"][-1].unwrap()
    return {**created, **entry}


def _admin(coordinator: RunningCoordinator) -> httpx.Client:
    return httpx.Client(base_url=coordinator.url, headers={"PRIVATE-TOKEN": coordinator.admin_token},
                        trust_env=False)


def _names(config: Path) -> list[str]:
    return [r["name"] for r in tomlkit.parse(config.read_text()).get("runners", [])]


def test_unregister_authentication_token_removes_only_this_hosts_manager(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, config_path: Path
) -> None:
    entry = _register(runnerfleet, coordinator, config_path, "keep-runner")
    _register(runnerfleet, coordinator, config_path, "other")
    with _admin(coordinator) as admin:
        assert len(admin.get(f"/api/v4/runners/{entry['id']}/managers").json()) == 1
    result = runnerfleet("unregister", "-c", str(config_path), "--name", "keep-runner")
    assert result.code == 0, result.output
    assert _names(config_path) == ["other"]
    with _admin(coordinator) as admin:
        # The runner created in GitLab stays; this host's manager is gone.
        assert admin.get(f"/api/v4/runners/{entry['id']}").status_code == 200
        assert admin.get(f"/api/v4/runners/{entry['id']}/managers").json() == []
    deletes = [r for r in coordinator.requests_log() if r["method"] == "DELETE"]
    assert [d["path"] for d in deletes] == ["/api/v4/runners/managers"]


def test_unregister_legacy_runner_deletes_it_in_gitlab(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, config_path: Path
) -> None:
    entry = _register(runnerfleet, coordinator, config_path, "legacy", legacy=True)
    result = runnerfleet("unregister", "-c", str(config_path), "--token", entry["token"])
    assert result.code == 0, result.output
    assert _names(config_path) == []
    with _admin(coordinator) as admin:
        assert admin.get(f"/api/v4/runners/{entry['id']}").status_code == 404


def test_unregister_all_runners_and_selector_errors(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, config_path: Path
) -> None:
    _register(runnerfleet, coordinator, config_path, "a")
    _register(runnerfleet, coordinator, config_path, "b", legacy=True)
    nothing = runnerfleet("unregister", "-c", str(config_path))
    assert nothing.code == 1
    assert "--name or --token" in nothing.stderr
    missing = runnerfleet("unregister", "-c", str(config_path), "--name", "nope")
    assert missing.code == 1 and 'name "nope"' in missing.stderr
    result = runnerfleet("unregister", "-c", str(config_path), "--all-runners")
    assert result.code == 0, result.output
    assert _names(config_path) == []


def test_unregister_by_url_and_token_not_in_config_still_deletes_in_gitlab(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, tmp_path: Path
) -> None:
    other_config = tmp_path / "elsewhere" / "config.toml"
    entry = _register(runnerfleet, coordinator, other_config, "old", legacy=True)
    config = tmp_path / "etc" / "config.toml"
    result = runnerfleet("unregister", "-c", str(config), "--url", coordinator.url,
                         "--token", entry["token"])
    assert result.code == 0, result.output
    with _admin(coordinator) as admin:
        assert admin.get(f"/api/v4/runners/{entry['id']}").status_code == 404


def test_verify_reports_valid_then_invalid_and_delete_prunes(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, config_path: Path
) -> None:
    gone = _register(runnerfleet, coordinator, config_path, "gone")
    _register(runnerfleet, coordinator, config_path, "stays")
    ok = runnerfleet("verify", "-c", str(config_path))
    assert ok.code == 0, ok.output
    assert ok.stderr.count("is valid") == 2
    with _admin(coordinator) as admin:
        assert admin.delete(f"/api/v4/runners/{gone['id']}").status_code == 204
    failed = runnerfleet("verify", "-c", str(config_path))
    assert failed.code == 1
    assert "is not valid" in failed.stderr and "Failed to verify runners" in failed.stderr
    assert _names(config_path) == ["gone", "stays"]
    pruned = runnerfleet("verify", "-c", str(config_path), "--delete")
    assert pruned.code == 0, pruned.output
    assert _names(config_path) == ["stays"]


def test_verify_selector_that_matches_nothing_is_an_error(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, config_path: Path
) -> None:
    _register(runnerfleet, coordinator, config_path, "one")
    result = runnerfleet("verify", "-c", str(config_path), "--name", "two")
    assert result.code == 1
    assert 'no runner with name "two"' in result.stderr


def test_verify_network_failure_is_reported_but_not_counted_as_invalid(
    runnerfleet: CliRunner, config_path: Path, coordinator: RunningCoordinator
) -> None:
    _register(runnerfleet, coordinator, config_path, "one")
    coordinator.stop()
    result = runnerfleet("verify", "-c", str(config_path), "--delete")
    assert result.code == 0
    assert "failed" in result.stderr
    assert _names(config_path) == ["one"]


def test_list_shows_runners_without_whole_tokens(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, config_path: Path
) -> None:
    entry = _register(runnerfleet, coordinator, config_path, "listed")
    result = runnerfleet("list", "-c", str(config_path))
    assert result.code == 0, result.output
    assert "Listing configured runners" in result.stderr and str(config_path) in result.stderr
    line = next(x for x in result.stderr.splitlines() if x.startswith("listed"))
    assert "Executor=shell" in line and f"URL={coordinator.url}" in line
    assert entry["token"] not in result.output
    assert "Token=" in line


def test_reset_token_rotates_and_old_token_stops_working(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, config_path: Path
) -> None:
    entry = _register(runnerfleet, coordinator, config_path, "rotating")
    result = runnerfleet("reset-token", "-c", str(config_path), "--name", "rotating")
    assert result.code == 0, result.output
    new = tomlkit.parse(config_path.read_text())["runners"][0]
    assert new["token"] != entry["token"] and str(new["token"]).startswith("glrt-")
    with httpx.Client(trust_env=False) as http:
        old = http.post(f"{coordinator.url}/api/v4/runners/verify", json={"token": entry["token"]})
        assert old.status_code == 403
    assert runnerfleet("verify", "-c", str(config_path)).code == 0


def test_reset_token_with_pat_by_url_and_id(
    coordinator: RunningCoordinator, runnerfleet: CliRunner, config_path: Path
) -> None:
    entry = _register(runnerfleet, coordinator, config_path, "by-id")
    result = runnerfleet("reset-token", "-c", str(config_path), "--url", coordinator.url,
                         "--id", str(entry["id"]), "--pat", coordinator.admin_token)
    assert result.code == 0, result.output
    assert tomlkit.parse(config_path.read_text())["runners"][0]["token"] != entry["token"]
    assert coordinator.admin_token not in result.output


def test_broken_config_gives_one_line_with_position_and_is_not_rewritten(
    runnerfleet: CliRunner, config_path: Path
) -> None:
    config_path.parent.mkdir(parents=True)
    broken = 'concurrent = 1\n[[runners]]\n  name = "x\n'
    config_path.write_text(broken)
    for command in (["list"], ["verify"], ["unregister", "--all-runners"]):
        result = runnerfleet(*command, "-c", str(config_path))
        assert result.code == 1
        assert "Traceback" not in result.output
        errors = [x for x in result.stderr.splitlines() if x.startswith("ERROR")]
        assert len(errors) == 1, result.stderr
        assert f"{config_path}:3:" in errors[0]
    assert config_path.read_text() == broken
