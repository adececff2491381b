"""Admin (PAT) runner REST API: list, show, update, delete runners and list their managers."""

from __future__ import annotations

import math
import urllib.parse
from typing import TYPE_CHECKING, Any

from runnerfleet.coordinator import entities
from runnerfleet.coordinator.params import Bool, CommaList, Int, P, Str, declared
from runnerfleet.coordinator.runners_api import ACCESS_LEVELS, RUNNER_TYPES, validate_runner
from runnerfleet.coordinator.store import Runner
from runnerfleet.coordinator.web import (
    Request,
    Response,
    Router,
    json_response,
    message,
    no_content,
    not_found,
)

if TYPE_CHECKING:
    from runnerfleet.coordinator.app import Coordinator

STATUSES = ("online", "offline", "stale", "never_contacted", "active", "paused")
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100

_LIST_PARAMS = [
    P("type", Str, values=RUNNER_TYPES),
    P("paused", Bool),
    P("status", Str, values=STATUSES),
    P("tag_list", CommaList),
    P("page", Int),
    P("per_page", Int),
]
_UPDATABLE = (
    "description", "active", "paused", "tag_list", "run_untagged", "locked", "access_level",
    "maximum_timeout", "maintenance_note",
)


def paginate(req: Request, items: list[Any], page: int, per_page: int) -> tuple[list[Any],
                                                                                dict[str, str]]:
    """Slice `items` and build GitLab's offset-pagination headers."""
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    page = max(page, 1)
    total = len(items)
    total_pages = max(1, math.ceil(total / per_page))
    chunk = items[(page - 1) * per_page: page * per_page]
    headers = {
        "X-Total": str(total),
        "X-Total-Pages": str(total_pages),
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Next-Page": str(page + 1) if page < total_pages else "",
        "X-Prev-Page": str(page - 1) if page > 1 else "",
    }
    links = []
    query = dict(req.query)
    for rel, target in (("prev", page - 1 if page > 1 else None),
                        ("next", page + 1 if page < total_pages else None),
                        ("first", 1), ("last", total_pages)):
        if target is None:
            continue
        query.update({"page": str(target), "per_page": str(per_page)})
        links.append(f'<{req.path}?{urllib.parse.urlencode(query)}>; rel="{rel}"')
    headers["Link"] = ", ".join(links)
    return chunk, headers


def register(router: Router, app: Coordinator) -> None:
    store = app.store

    def list_answer(req: Request, *, all_runners: bool) -> Response:
        app.require_admin(req)
        p = declared(req.params, _LIST_PARAMS)
        runners = store.list_runners(
            runner_type=p.get("type"),
            paused=p.get("paused"),
            tag_list=p.get("tag_list"),
            # GET /runners lists the runners the user owns through groups and projects.
            exclude_instance=not all_runners,
        )
        if "status" in p:
            wanted = p["status"]
            if wanted in ("active", "paused"):
                runners = [r for r in runners if r.active == (wanted == "active")]
            else:
                runners = [r for r in runners if entities.runner_status(r) == wanted]
        page, headers = paginate(
            req, runners, p.get("page", 1), p.get("per_page", DEFAULT_PER_PAGE)
        )
        return json_response(200, [entities.runner_basic(r) for r in page], headers)

    def runner_from_path(req: Request) -> Runner:
        app.require_admin(req)
        p = declared(req.path_params, [P("id", Int, required=True)])
        runner = store.runner_by_id(p["id"])
        if runner is None:
            raise not_found("Runner")
        return runner

    @router.route("GET", r"/api/v4/runners/all")
    def list_all(req: Request) -> Response:
        return list_answer(req, all_runners=True)

    @router.route("GET", r"/api/v4/runners")
    def list_owned(req: Request) -> Response:
        return list_answer(req, all_runners=False)

    @router.route("GET", r"/api/v4/runners/(?P<id>[^/]+)")
    def show(req: Request) -> Response:
        runner = runner_from_path(req)
        return json_response(200, entities.runner_details(runner, store.managers(runner.id)))

    @router.route("PUT", r"/api/v4/runners/(?P<id>[^/]+)")
    def update(req: Request) -> Response:
        runner = runner_from_path(req)
        p = declared(
            req.params,
            [
                P("description", Str),
                P("active", Bool),
                P("paused", Bool),
                P("tag_list", CommaList),
                P("run_untagged", Bool),
                P("locked", Bool),
                P("access_level", Str, values=ACCESS_LEVELS),
                P("maximum_timeout", Int),
                P("maintenance_note", Str),
            ],
            mutually_exclusive=[("active", "paused")],
            at_least_one_of=_UPDATABLE,
        )
        changes = {k: v for k, v in p.items() if k != "paused"}
        if "paused" in p:
            changes["active"] = not p["paused"]
        merged = {
            "description": runner.description,
            "maintenance_note": runner.maintenance_note,
            "tag_list": runner.tag_list,
            "run_untagged": runner.run_untagged,
            "maximum_timeout": runner.maximum_timeout,
            **changes,
        }
        errors = validate_runner(merged)
        if errors:
            return message(400, errors)
        updated = store.update_runner(runner.id, changes)
        if updated is None:
            raise not_found("Runner")
        # A changed runner may now match queued jobs: wake its long polls (`tick_runner_queue`).
        app.jobs.queues.tick([runner.id])
        return json_response(200, entities.runner_details(updated, store.managers(runner.id)))

    @router.route("DELETE", r"/api/v4/runners/(?P<id>[^/]+)")
    def delete(req: Request) -> Response:
        runner = runner_from_path(req)
        if not store.delete_runner(runner.id):
            raise not_found("Runner")
        return no_content()

    @router.route("GET", r"/api/v4/runners/(?P<id>[^/]+)/managers")
    def managers(req: Request) -> Response:
        runner = runner_from_path(req)
        return json_response(200, [entities.runner_manager(m) for m in store.managers(runner.id)])
