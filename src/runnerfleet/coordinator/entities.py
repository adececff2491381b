"""JSON shapes of runners and runner managers, as GitLab's API entities present them."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from runnerfleet.coordinator.store import Runner, RunnerManager

ONLINE_CONTACT_TIMEOUT = 2 * 3600
STALE_TIMEOUT = 7 * 24 * 3600


def iso_time(epoch: float | None) -> str | None:
    """GitLab's JSON time form: `2026-09-01T10:00:00.000Z`."""
    if epoch is None:
        return None
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _online(contacted_at: float | None) -> bool:
    return contacted_at is not None and contacted_at > time.time() - ONLINE_CONTACT_TIMEOUT


def _stale(created_at: float, contacted_at: float | None) -> bool:
    return max(created_at, contacted_at or 0.0) <= time.time() - STALE_TIMEOUT


def runner_status(runner: Runner) -> str:
    """The REST `status` (GitLab's `deprecated_rest_status`)."""
    if _stale(runner.created_at, runner.contacted_at):
        return "stale"
    if runner.contacted_at is None:
        return "never_contacted"
    if runner.active:
        return "online" if _online(runner.contacted_at) else "offline"
    return "paused"


def manager_status(manager: RunnerManager) -> str:
    if _stale(manager.created_at, manager.contacted_at):
        return "stale"
    if manager.contacted_at is None:
        return "never_contacted"
    return "online" if _online(manager.contacted_at) else "offline"


def registration_details(runner: Runner, token: str) -> dict[str, Any]:
    """`Entities::Ci::RunnerRegistrationDetails`."""
    return {"id": runner.id, "token": token, "token_expires_at": iso_time(runner.token_expires_at)}


def reset_token_result(token: str, expires_at: float | None) -> dict[str, Any]:
    """`Entities::Ci::ResetTokenResult`."""
    return {"token": token, "token_expires_at": iso_time(expires_at)}


def runner_basic(runner: Runner) -> dict[str, Any]:
    """`Entities::Ci::Runner` (list items)."""
    return {
        "id": runner.id,
        "description": runner.description,
        "ip_address": None,  # GitLab exposes null here since runner managers hold the address
        "active": runner.active,
        "paused": not runner.active,
        "is_shared": runner.runner_type == "instance_type",
        "runner_type": runner.runner_type,
        "name": runner.name,
        "online": _online(runner.contacted_at),
        "created_at": iso_time(runner.created_at),
        "status": runner_status(runner),
        "job_execution_status": "idle",
    }


def runner_details(runner: Runner, managers: list[RunnerManager]) -> dict[str, Any]:
    """`Entities::Ci::RunnerDetails` as an admin sees it."""
    latest = max(managers, key=lambda m: m.contacted_at or 0.0, default=None)
    info = latest.info if latest else {}
    details = runner_basic(runner)
    details.update(
        {
            "tag_list": list(runner.tag_list),
            "run_untagged": runner.run_untagged,
            "locked": runner.locked,
            "maximum_timeout": runner.maximum_timeout,
            "access_level": runner.access_level,
            "version": info.get("version"),
            "revision": info.get("revision"),
            "platform": info.get("platform"),
            "architecture": info.get("architecture"),
            "contacted_at": iso_time(runner.contacted_at),
            "maintenance_note": runner.maintenance_note,
            "projects": [{"id": pid} for pid in runner.project_ids],
            "groups": [{"id": gid} for gid in runner.group_ids],
        }
    )
    return details


def runner_manager(manager: RunnerManager) -> dict[str, Any]:
    """`Entities::Ci::RunnerManager`."""
    return {
        "id": manager.id,
        "system_id": manager.system_xid,
        "version": manager.info.get("version"),
        "revision": manager.info.get("revision"),
        "platform": manager.info.get("platform"),
        "architecture": manager.info.get("architecture"),
        "created_at": iso_time(manager.created_at),
        "contacted_at": iso_time(manager.contacted_at),
        "ip_address": manager.ip_address,
        "status": manager_status(manager),
        "job_execution_status": "idle",
    }
