"""Test-hook endpoints under `/-/` (admin PAT): faults, request log, admin settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runnerfleet.coordinator.hooks import Fault
from runnerfleet.coordinator.params import Bool, Int, InvalidValue, P, Str, declared, to_int
from runnerfleet.coordinator.store import DEFAULT_SETTINGS
from runnerfleet.coordinator.web import Request, Response, Router, json_response, no_content

if TYPE_CHECKING:
    from runnerfleet.coordinator.app import Coordinator

FAULT_KINDS = ("status", "drop", "delay")


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidValue
    try:
        seconds = float(value)
    except ValueError:
        raise InvalidValue from None
    if seconds < 0:
        raise InvalidValue
    return seconds


def _to_headers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidValue
    return {str(k): str(v) for k, v in value.items()}


def _interval(value: Any) -> int | None:
    """A token expiration interval in seconds; 0 or null means "tokens do not expire"."""
    if value is None:
        return None
    seconds = to_int(value)
    return seconds if seconds > 0 else None


_SETTING_PARAMS = [
    P("allow_runner_registration_token", Bool),
    P("runner_token_expiration_interval", _interval),
    P("group_runner_token_expiration_interval", _interval),
    P("project_runner_token_expiration_interval", _interval),
]


def register(router: Router, app: Coordinator) -> None:
    @router.route("POST", r"/-/faults")
    def add_fault(req: Request) -> Response:
        """Queue a fault for the next `count` API requests matching method and path.

        kind "status" (default; `status` required): answer with status/headers/body instead.
        kind "drop": close the connection without any answer; with `after_body` true the request
        body is read first. kind "delay": wait `seconds`, then answer normally.
        """
        app.require_admin(req)
        kind = req.params.get("kind") or "status"
        p = declared(
            req.params,
            [
                P("kind", Str, values=FAULT_KINDS),
                P("method", Str, required=True),
                P("path", Str, required=True),
                P("status", Int, required=kind == "status"),
                P("seconds", _seconds, required=kind == "delay"),
                P("after_body", Bool),
                P("headers", _to_headers),
                P("body", Str),
                P("content_type", Str),
                P("count", Int),
            ],
        )
        fault = Fault(
            method=p["method"].upper(),
            path=p["path"],
            status=p.get("status", 0),
            headers=p.get("headers", {}),
            body=p.get("body", ""),
            content_type=p.get("content_type", "application/json"),
            count=p.get("count", 1),
            kind=p.get("kind", "status"),
            seconds=p.get("seconds", 0.0),
            after_body=p.get("after_body", False),
        )
        app.faults.add(fault)
        return json_response(201, {**fault.__dict__})

    @router.route("DELETE", r"/-/faults")
    def clear_faults(req: Request) -> Response:
        app.require_admin(req)
        app.faults.clear()
        return no_content()

    @router.route("GET", r"/-/requests")
    def request_log(req: Request) -> Response:
        app.require_admin(req)
        return json_response(200, app.request_log.entries())

    @router.route("GET", r"/-/settings")
    def get_settings(req: Request) -> Response:
        app.require_admin(req)
        return json_response(200, app.store.settings())

    @router.route("PUT", r"/-/settings")
    def put_settings(req: Request) -> Response:
        app.require_admin(req)
        raw = req.params
        p = declared(raw, _SETTING_PARAMS, at_least_one_of=tuple(DEFAULT_SETTINGS))
        for key in DEFAULT_SETTINGS:
            # An explicit null resets an interval; `declared` drops nulls, so look at `raw`.
            if key in p or (key.endswith("_interval") and key in raw and raw[key] is None):
                app.store.set_setting(key, p.get(key))
        return json_response(200, app.store.settings())
