"""GitLab's admin runner API (personal access token) on top of GitLabClient.request().

Used by the Ansible `runner`/`runner_info` modules: list, show, update and delete runners, list a
runner's managers, resolve a group or project to its id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    import httpx

    from runnerfleet.gitlab import GitLabClient

PER_PAGE = 100
# A runaway pagination (a proxy answering the same page again and again) stops here.
MAX_PAGES = 1000

_PAT_HINTS = {
    401: "check api_token (the personal access token)",
    403: "api_token needs the api scope and the right to manage these runners (admin for "
    "instance runners, owner/maintainer for group and project runners)",
}


class AdminClient:
    """Admin runner calls authorised by a personal access token (`PRIVATE-TOKEN`)."""

    def __init__(self, client: GitLabClient, pat: str) -> None:
        self.client = client
        self._headers = {"PRIVATE-TOKEN": pat}

    # -- core --------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        expect: tuple[int, ...] = (200,),
        json: Any = None,
        params: Mapping[str, str] | None = None,
        hints: Mapping[int, str] | None = None,
    ) -> httpx.Response:
        response = self.client.request(method, path, json=json, params=params,
                                       headers=self._headers)
        if response.status_code not in expect:
            # The engine's one-line error (endpoint, status, GitLab's message, hint).
            raise self.client.api_error(
                response, method, path, {**_PAT_HINTS, **(hints or {})}
            )
        return response

    def _json(self, response: httpx.Response, method: str, path: str) -> Any:
        from runnerfleet.errors import ApiError  # pylint: disable=import-outside-toplevel

        try:
            return response.json()
        except ValueError:
            url = self.client.endpoint_url(path)
            raise ApiError(
                f"{method} {url}: GitLab answered {response.status_code} but not with JSON; "
                "check that api_url points at GitLab",
                method=method, endpoint=url, status=response.status_code,
            ) from None

    # -- runners -----------------------------------------------------------------------------

    def iter_runners(self) -> Iterator[dict[str, Any]]:
        """Every runner the token may see: `/runners/all` (admin), else `/runners` (owned)."""
        path = "runners/all"
        page = 1
        for _attempt in range(MAX_PAGES):
            params = {"per_page": str(PER_PAGE), "page": str(page)}
            response = self.client.request("GET", path, params=params, headers=self._headers)
            if response.status_code == 403 and path == "runners/all" and page == 1:
                path = "runners"  # not an admin: the runners of the user's groups and projects
                continue
            if response.status_code != 200:
                raise self.client.api_error(
                    response, "GET", path, _PAT_HINTS
                )
            items = self._json(response, "GET", path)
            if not isinstance(items, list):
                items = []
            for item in items:
                if isinstance(item, dict):
                    yield item
            next_page = response.headers.get("x-next-page", "")
            if not next_page.isdigit() or not items:
                return
            page = int(next_page)

    def get_runner(self, runner_id: int) -> dict[str, Any] | None:
        """`GET /runners/:id` details, or None when GitLab has no such runner."""
        path = f"runners/{runner_id}"
        response = self._call("GET", path, expect=(200, 404))
        if response.status_code == 404:
            return None
        body = self._json(response, "GET", path)
        return body if isinstance(body, dict) else None

    def update_runner(self, runner_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        """`PUT /runners/:id` with only the attributes to change; GitLab's new details."""
        path = f"runners/{runner_id}"
        response = self._call(
            "PUT", path, json=dict(changes),
            hints={400: "check the runner attributes named above",
                   404: f"GitLab has no runner with id {runner_id}"},
        )
        body = self._json(response, "PUT", path)
        return body if isinstance(body, dict) else {}

    def delete_runner(self, runner_id: int) -> bool:
        """`DELETE /runners/:id`; False when the runner was already gone."""
        response = self._call("DELETE", f"runners/{runner_id}", expect=(204, 404))
        return response.status_code == 204

    def runner_managers(self, runner_id: int) -> list[dict[str, Any]]:
        """`GET /runners/:id/managers`: one entry per host (system_id) that ran the runner."""
        path = f"runners/{runner_id}/managers"
        body = self._json(self._call("GET", path), "GET", path)
        return [m for m in body if isinstance(m, dict)] if isinstance(body, list) else []

    # -- groups and projects -----------------------------------------------------------------

    def namespace_id(self, kind: str, ref: str) -> int:
        """The numeric id of a group or project (`kind` "group"/"project") given its id or path."""
        from runnerfleet.errors import ApiError  # pylint: disable=import-outside-toplevel

        text = str(ref).strip()
        if text.isdigit():
            return int(text)
        path = f"{kind}s/{quote(text.strip('/'), safe='')}"
        response = self._call(
            "GET", path,
            hints={404: f"GitLab has no {kind} with the path {text!r} (or api_token cannot see "
                   f"it); give {kind} as its numeric id or full path"},
        )
        body = self._json(response, "GET", path)
        found = body.get("id") if isinstance(body, dict) else None
        if not isinstance(found, int) or isinstance(found, bool):
            url = self.client.endpoint_url(path)
            raise ApiError(f"GET {url}: GitLab's answer has no numeric id for {kind} {text!r}",
                           method="GET", endpoint=url, status=200)
        return found
