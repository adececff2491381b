"""Runner registration and lifecycle endpoints (`/runners*`, `/user/runners`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runnerfleet.coordinator import entities
from runnerfleet.coordinator.params import Bool, CommaList, Hash, Int, P, Str, declared
from runnerfleet.coordinator.store import LEGACY_SYSTEM_XID
from runnerfleet.coordinator.web import (
    HttpError,
    Request,
    Response,
    Router,
    bad_request,
    forbidden,
    json_response,
    message,
    no_content,
    not_found,
    with_reason,
)

if TYPE_CHECKING:
    from runnerfleet.coordinator.app import Coordinator

RUNNER_TYPES = ("instance_type", "group_type", "project_type")
ACCESS_LEVELS = ("not_protected", "ref_protected")
MAX_TAGS = 50
MIN_TIMEOUT = 600
TEXT_LIMIT = 1024
# `info` keys GitLab keeps for a runner manager (get_runner_details_from_request).
MANAGER_INFO_KEYS = (
    "name", "version", "revision", "platform", "architecture", "executor", "shell",
    "features", "config", "labels",
)

# Human attribute names used in `errors.full_messages`.
_FULL_NAMES = {
    "tags_list": "Tags list",
    "maximum_timeout": "Maximum timeout",
    "description": "Description",
    "maintenance_note": "Maintenance note",
}


def validate_runner(attrs: dict[str, Any]) -> dict[str, list[str]]:
    """Ci::Runner model validations; `attrs` holds the runner's full resulting attributes."""
    errors: dict[str, list[str]] = {}
    for key in ("description", "maintenance_note"):
        value = attrs.get(key)
        if isinstance(value, str) and len(value) > TEXT_LIMIT:
            errors.setdefault(key, []).append(
                f"is too long (maximum is {TEXT_LIMIT} characters)"
            )
    tags = attrs.get("tag_list") or []
    if not tags and not attrs.get("run_untagged", True):
        errors.setdefault("tags_list", []).append(
            "can not be empty when runner is not allowed to pick untagged jobs"
        )
    if len(tags) > MAX_TAGS:
        errors.setdefault("tags_list", []).append(
            f"Too many tags specified. Please limit the number of tags to {MAX_TAGS}"
        )
    timeout = attrs.get("maximum_timeout")
    if timeout is not None and timeout < MIN_TIMEOUT:
        errors.setdefault("maximum_timeout", []).append("needs to be at least 10 minutes")
    return errors


def full_messages(errors: dict[str, list[str]]) -> str:
    """ActiveModel `full_messages.to_sentence`."""
    items = [f"{_FULL_NAMES.get(k, k)} {m}" for k, msgs in errors.items() for m in msgs]
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + f", and {items[-1]}"


def manager_info(info: Any) -> dict[str, Any]:
    if not isinstance(info, dict):
        return {}
    return {k: info[k] for k in MANAGER_INFO_KEYS if k in info}


def _runner_attributes(p: dict[str, Any]) -> dict[str, Any]:
    """Declared creation params → runner columns (paused → active, deprecated note alias)."""
    attrs: dict[str, Any] = {
        k: p[k]
        for k in ("description", "maintenance_note", "locked", "run_untagged", "tag_list",
                  "access_level", "maximum_timeout", "active")
        if k in p
    }
    if "maintainer_note" in p and not attrs.get("maintenance_note"):
        attrs["maintenance_note"] = p["maintainer_note"]
    if "paused" in p:
        attrs["active"] = not p["paused"]
    return attrs


def register(router: Router, app: Coordinator) -> None:
    store = app.store

    @router.route("POST", r"/api/v4/runners")
    def register_runner(req: Request) -> Response:
        p = declared(
            req.params,
            [
                P("token", Str, required=True),
                P("description", Str),
                P("maintainer_note", Str),
                P("maintenance_note", Str),
                P("info", Hash),
                P("active", Bool),
                P("paused", Bool),
                P("locked", Bool),
                P("access_level", Str, values=ACCESS_LEVELS),
                P("run_untagged", Bool),
                P("tag_list", CommaList),
                P("maximum_timeout", Int),
            ],
            mutually_exclusive=[("maintainer_note", "maintenance_note"), ("active", "paused")],
        )
        token: str = p["token"]
        allowed_globally = bool(store.get_setting("allow_runner_registration_token"))
        group_id: int | None = None
        project_id: int | None = None
        if token and token == app.registration_token:
            runner_type, allowed = "instance_type", allowed_globally
        elif token and (scope := store.scope_for_runners_token(token)) is not None:
            runner_type, scope_id, scope_allowed = scope
            allowed = allowed_globally and scope_allowed
            if runner_type == "group_type":
                group_id = scope_id
            else:
                project_id = scope_id
        elif token and not allowed_globally:
            # GitLab answers 410 for any non-empty token once registration tokens are off.
            runner_type, allowed = "instance_type", False
        else:
            raise forbidden("invalid token supplied")
        if not allowed:
            raise HttpError(with_reason(410, "410 Gone", "runner registration disallowed"))

        attrs = _runner_attributes(p)
        info = p.get("info") or {}
        if isinstance(info.get("name"), str):
            attrs["name"] = info["name"]
        errors = validate_runner(attrs)
        if errors:
            return message(400, errors)
        runner, new_token = store.create_runner(
            runner_type,
            "registration_token",
            attrs,
            token_expires_at=app.token_expires_at(runner_type),
            group_id=group_id,
            project_id=project_id,
        )
        return json_response(201, entities.registration_details(runner, new_token))

    @router.route("POST", r"/api/v4/user/runners")
    def create_runner(req: Request) -> Response:
        user = app.current_user(req)
        if user is None:
            raise HttpError(message(401, "401 Unauthorized"))
        raw = req.params
        spec = [P("runner_type", Str, required=True, values=RUNNER_TYPES)]
        if raw.get("runner_type") == "group_type":
            spec.append(P("group_id", Int, required=True))
        if raw.get("runner_type") == "project_type":
            spec.append(P("project_id", Int, required=True))
        spec += [
            P("description", Str),
            P("maintenance_note", Str),
            P("paused", Bool),
            P("locked", Bool),
            P("access_level", Str, values=ACCESS_LEVELS),
            P("run_untagged", Bool),
            P("tag_list", CommaList),
            P("maximum_timeout", Int),
        ]
        p = declared(raw, spec)
        runner_type: str = p["runner_type"]
        group_id = p.get("group_id")
        project_id = p.get("project_id")
        # CreateRunnerService: scope validation first, then permissions.
        if runner_type == "group_type" and not store.group_exists(group_id or 0):
            raise bad_request("Missing/invalid group")
        if runner_type == "project_type" and not store.project_exists(project_id or 0):
            raise bad_request("Missing/invalid project")
        if not user["admin"]:
            raise forbidden("Insufficient permissions")
        attrs = _runner_attributes(p)
        attrs["creation_state"] = "started"
        attrs["creator_id"] = user["id"]
        errors = validate_runner(attrs)
        if errors:
            raise bad_request(full_messages(errors))
        runner, new_token = store.create_runner(
            runner_type,
            "authenticated_user",
            attrs,
            token_expires_at=app.token_expires_at(runner_type),
            group_id=group_id,
            project_id=project_id,
        )
        return json_response(201, entities.registration_details(runner, new_token))

    @router.route("POST", r"/api/v4/runners/verify")
    def verify(req: Request) -> Response:
        p = declared(
            req.params, [P("token", Str, required=True), P("system_id", Str), P("info", Hash)]
        )
        runner = app.authenticate_runner(p["token"])
        store.heartbeat(
            runner.id,
            ip_address=req.client_ip,
            system_xid=p.get("system_id") or LEGACY_SYSTEM_XID,
            info=manager_info(p.get("info")),
        )
        return json_response(200, entities.registration_details(runner, p["token"]))

    @router.route("DELETE", r"/api/v4/runners")
    def unregister(req: Request) -> Response:
        p = declared(req.params, [P("token", Str, required=True)])
        runner = app.authenticate_runner(p["token"])
        store.delete_runner(runner.id)
        return no_content()

    @router.route("DELETE", r"/api/v4/runners/managers")
    def unregister_manager(req: Request) -> Response:
        p = declared(
            req.params, [P("token", Str, required=True), P("system_id", Str, required=True)]
        )
        runner = app.authenticate_runner(p["token"])
        if not store.delete_manager(runner.id, p["system_id"]):
            raise not_found("Runner manager not found")
        return no_content()

    @router.route("POST", r"/api/v4/runners/reset_authentication_token")
    def reset_token(req: Request) -> Response:
        p = declared(req.params, [P("token", Str, required=True)])
        runner = app.authenticate_runner(p["token"])
        expires_at = app.token_expires_at(runner.runner_type)
        new_token = store.reset_runner_token(runner.id, expires_at)
        return json_response(201, entities.reset_token_result(new_token, expires_at))

    @router.route("POST", r"/api/v4/runners/(?P<id>[^/]+)/reset_authentication_token")
    def reset_token_with_pat(req: Request) -> Response:
        app.require_admin(req)
        p = declared(req.path_params, [P("id", Int, required=True)])
        runner = store.runner_by_id(p["id"])
        if runner is None:
            raise not_found("Runner")
        expires_at = app.token_expires_at(runner.runner_type)
        new_token = store.reset_runner_token(runner.id, expires_at)
        return json_response(201, entities.reset_token_result(new_token, expires_at))

    @router.route("GET", r"/api/v4/runners/router/discovery")
    def router_discovery(req: Request) -> Response:
        token = req.header("runner-token")
        if not token or store.runner_by_token(token) is None:
            raise forbidden()
        return message(501, "Job Router is not available. Please contact your administrator.")
