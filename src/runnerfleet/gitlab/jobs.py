"""The runner's job calls to GitLab: ask for a job, update its state, append to its log.

Module functions taking a GitLabClient (client.py stays small). Each call returns what GitLab's
answer means in gitlab-runner's terms (network/gitlab.go `RequestJob`, `UpdateJob`, `PatchTrace`;
API spec §4.3, §7.5, §8.3) and leaves the policy (retry, abort, back-off) to the caller. A call
that got no HTTP answer at all raises TransportError.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from runnerfleet.errors import RateLimitError
from runnerfleet.gitlab.client import GitLabClient, attempts_of
from runnerfleet.log import fields
from runnerfleet.tokens import shorten_token

log = logging.getLogger("runnerfleet.gitlab")

# gitlab-runner common/consts.go: the trace cadence before GitLab says otherwise, its upper bound,
# and the largest PATCH body.
DEFAULT_UPDATE_INTERVAL = 3.0
MAX_UPDATE_INTERVAL = 15 * 60.0
TRACE_PATCH_LIMIT = 1024 * 1024

LAST_UPDATE_HEADER = "X-GitLab-Last-Update"
JOB_STATUS_HEADER = "Job-Status"
UPDATE_INTERVAL_HEADER = "X-GitLab-Trace-Update-Interval"
RANGE_HEADER = "Range"

# Job-Status values that end the job on the runner side at once (remote_job_state_response.go).
_ABORT_STATES = frozenset({"canceled", "failed"})
CANCELING = "canceling"


# -- answers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobRequest:
    """The outcome of `POST /jobs/request` (API spec §4.3).

    `payload` is the raw JSON object of a 201 (parse it with `JobPayload.from_json`), else None.
    `last_update` is the value to send next time: GitLab's `X-GitLab-Last-Update` when the answer
    had one, else the value that was sent (a bare 204 from Workhorse keeps it, spec §5.3).
    `healthy` is False only for 403 (runner token refused). `retried` tells that the HTTP layer
    had to repeat the request (GitLab asked to slow down with 429).
    """

    payload: dict[str, Any] | None
    last_update: str | None
    status: int
    healthy: bool
    retried: bool


@dataclass(frozen=True)
class JobUpdate:
    """The outcome of `PUT /jobs/:id` (API spec §7.5), checked in gitlab-runner's order.

    - `abort`: `Job-Status` canceled/failed, or 403/404: stop the job, send nothing more;
    - `accepted`: 200 (and not abort): GitLab applied the state;
    - `retry`: 202 (trace not yet complete) or 412 (trace validation failed, resend the whole
      log): send the update again after `update_interval`;
    - none of the three (`failed`): 400, 409, 5xx, ...: retry later with back-off.
    `cancel_requested` is `Job-Status: canceling` (graceful cancel, spec §9) on any answer.
    """

    status: int
    job_status: str
    update_interval: float | None
    accepted: bool
    abort: bool
    cancel_requested: bool
    retry: bool

    @property
    def trace_reset(self) -> bool:
        """412: GitLab wants the whole log again from offset 0."""
        return self.retry and self.status == 412

    @property
    def failed(self) -> bool:
        return not (self.accepted or self.abort or self.retry)


@dataclass(frozen=True)
class TracePatch:
    """The outcome of `PATCH /jobs/:id/trace` (API spec §8.3), checked in gitlab-runner's order.

    `sent_until` is the log offset GitLab holds after this answer as far as the runner can tell:
    the end of the chunk on 202, the number in `Range: 0-<n>` on 416 (0 when absent or not a
    number), else the start offset of the chunk (nothing changed).
    """

    status: int
    sent_until: int
    job_status: str
    update_interval: float | None
    cancel_requested: bool
    abort: bool
    range_mismatch: bool

    @property
    def ok(self) -> bool:
        """202: the chunk was appended."""
        return self.status == 202 and not self.abort

    @property
    def not_found(self) -> bool:
        return self.status == 404 and not self.abort

    @property
    def failed(self) -> bool:
        """Any other answer (400, 409, 5xx, ...): keep the data, try again later."""
        return not (self.ok or self.abort or self.range_mismatch or self.not_found)


# -- header parsing ---------------------------------------------------------------------------


def _go_atoi(text: str) -> int | None:
    """Go's strconv.Atoi: optional sign, ASCII digits only, nothing else."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    return int(text)


def parse_range_end(value: str | None) -> int:
    """The `<n>` of GitLab's `Range: 0-<n>` (the length it holds); 0 when absent or malformed.

    Like gitlab-runner: split at `-`, exactly two parts, the second one an integer. A negative
    number is read as 0 (an offset cannot be negative).
    """
    if not value:
        return 0
    parts = value.split("-")
    if len(parts) != 2:
        return 0
    number = _go_atoi(parts[1])
    return max(number, 0) if number is not None else 0


def parse_update_interval(value: str | None, *, job_id: int | None = None) -> float | None:
    """`X-GitLab-Trace-Update-Interval` (whole seconds) as seconds; None when absent or invalid."""
    if value is None or value == "":
        return None
    number = _go_atoi(value)
    if number is None:
        log.warning(
            "Failed to parse %r header", UPDATE_INTERVAL_HEADER,
            extra=fields(job=job_id, header_value=value),
        )
        return None
    return float(number)


def header(headers: Mapping[str, str], name: str) -> str:
    """A header's value by case-insensitive name ("" when absent), as Go's Header.Get."""
    if isinstance(headers, httpx.Headers):
        return str(headers.get(name, ""))
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), "")


def is_abort(status: int, job_status: str) -> bool:
    """gitlab-runner's `IsFailed`: the job is over on GitLab's side (canceled/failed) or 403."""
    return job_status in _ABORT_STATES or status == 403


# -- sending ---------------------------------------------------------------------------------


def _send(
    client: GitLabClient,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str],
    json: Any = None,
    content: bytes | None = None,
    content_type: str | None = None,
    params: Mapping[str, str] | None = None,
) -> tuple[httpx.Response, bool]:
    """One API call through `GitLabClient.request`, also telling whether the 429 loop repeated it.

    The retry flag is what gitlab-runner's adaptive request concurrency reads (commands/multi.go
    `releaseRequest`).
    """
    all_headers = dict(headers)
    if content_type is not None and json is None:
        all_headers["Content-Type"] = content_type
    response = client.request(method, path, json=json, content=content, headers=all_headers,
                              params=params)
    return response, attempts_of(response) > 1


def _request_id(response: httpx.Response) -> str:
    return str(response.headers.get("x-request-id", ""))


def _log_answer(what: str, extra: Mapping[str, Any],
                outcomes: tuple[tuple[bool, int, str], ...], otherwise: tuple[int, str]) -> None:
    """gitlab-runner's "<what> <outcome>" line: the first outcome whose condition holds, with
    its level, else `otherwise`."""
    level, text = next(((lvl, txt) for hit, lvl, txt in outcomes if hit), otherwise)
    log.log(level, "%s %s", what, text, extra=extra)


# -- POST /jobs/request ------------------------------------------------------------------------


def request_job(
    client: GitLabClient,
    token: str,
    *,
    system_id: str,
    info: Mapping[str, Any],
    last_update: str | None,
    session: Mapping[str, Any] | None = None,
) -> JobRequest:
    """`POST /jobs/request`: ask GitLab for a job for the runner `token` (API spec §4).

    201 → payload; 204 → none; 409 (race), 422, 429, 5xx → none, healthy; 403 → none,
    unhealthy. Raises TransportError when no answer came and ApiError when a 201 is not a JSON
    object (both: no job, unhealthy, as gitlab-runner's "client error").
    """
    body: dict[str, Any] = {"info": dict(info), "token": token, "system_id": system_id}
    if last_update:
        body["last_update"] = last_update
    if session is not None:
        body["session"] = dict(session)
    runner = shorten_token(token)
    path = "jobs/request"
    try:
        response, retried = _send(
            client, "POST", path, json=body, headers={"RUNNER-TOKEN": token}
        )
    except RateLimitError:
        # Still 429 after the HTTP layer's attempts: gitlab-runner reports "failed", healthy.
        log.warning("Checking for jobs... failed", extra=fields(runner=runner, status="429"))
        return JobRequest(None, last_update, 429, healthy=True, retried=True)
    status = response.status_code
    next_update = response.headers.get(LAST_UPDATE_HEADER) or last_update
    status_text = f"{status} {response.reason_phrase}".strip()
    extra = fields(runner=runner, status=status_text, correlation_id=_request_id(response))
    if status == 201:
        payload = client._decode_object(response, "POST", path)
        job_id = payload.get("id")
        log.info(
            "Checking for jobs... received",
            extra=fields(runner=runner, job=job_id, correlation_id=_request_id(response)),
        )
        return JobRequest(payload, next_update, status, healthy=True, retried=retried)
    _log_answer("Checking for jobs...", extra, (
        (status == 204, logging.DEBUG, "no content"),
        (status == 403, logging.ERROR, "forbidden"),
        (status == 503, logging.WARNING, "GitLab instance currently unavailable"),
    ), (logging.WARNING, "failed"))
    return JobRequest(None, next_update, status, healthy=status != 403, retried=retried)


# -- PUT /jobs/:id -----------------------------------------------------------------------------


def update_body(
    job_token: str,
    *,
    state: str,
    info: Mapping[str, Any],
    failure_reason: str | None = None,
    exit_code: int | None = None,
    checksum: str | None = None,
    bytesize: int | None = None,
) -> dict[str, Any]:
    """The JSON of `PUT /jobs/:id` as gitlab-runner's UpdateJobRequest encodes it (omitempty)."""
    output: dict[str, Any] = {}
    if checksum:
        output["checksum"] = checksum
    if bytesize:
        output["bytesize"] = bytesize
    body: dict[str, Any] = {"info": dict(info), "token": job_token, "state": state}
    if failure_reason:
        body["failure_reason"] = failure_reason
    if checksum:
        body["checksum"] = checksum  # deprecated duplicate GitLab still reads
    body["output"] = output
    if exit_code:
        body["exit_code"] = exit_code  # Go's omitempty: 0 is never sent
    return body


def job_update_result(
    status: int, headers: Mapping[str, str], *, job_id: int | None = None
) -> JobUpdate:
    """What a `PUT /jobs/:id` answer means (gitlab-runner `createUpdateJobResult`)."""
    job_status = header(headers, JOB_STATUS_HEADER)
    interval = parse_update_interval(header(headers, UPDATE_INTERVAL_HEADER) or None, job_id=job_id)
    abort = is_abort(status, job_status) or status == 404
    accepted = not abort and status == 200
    retry = not abort and status in (202, 412)
    return JobUpdate(
        status=status,
        job_status=job_status,
        update_interval=interval,
        accepted=accepted,
        abort=abort,
        cancel_requested=job_status == CANCELING,
        retry=retry,
    )


def update_job(
    client: GitLabClient,
    job_id: int,
    job_token: str,
    *,
    state: str,
    info: Mapping[str, Any],
    failure_reason: str | None = None,
    exit_code: int | None = None,
    checksum: str | None = None,
    bytesize: int | None = None,
) -> JobUpdate:
    """`PUT /jobs/:id`: tell GitLab the job's state (API spec §7). Raises TransportError only."""
    body = update_body(
        job_token, state=state, info=info, failure_reason=failure_reason, exit_code=exit_code,
        checksum=checksum, bytesize=bytesize,
    )
    log.info(
        "Updating job...",
        extra=fields(job=job_id, state=state, checksum=checksum or "", bytesize=bytesize or 0),
    )
    try:
        response, _ = _send(
            client, "PUT", f"jobs/{job_id}", json=body, headers={"JOB-TOKEN": job_token}
        )
    except RateLimitError:
        return JobUpdate(429, "", None, accepted=False, abort=False, cancel_requested=False,
                         retry=False)
    result = job_update_result(response.status_code, response.headers, job_id=job_id)
    extra = fields(
        job=job_id, code=result.status, job_status=result.job_status,
        update_interval=result.update_interval, correlation_id=_request_id(response),
    )
    _log_answer("Submitting job to coordinator...", extra, (
        (result.abort, logging.WARNING, "job failed or not found"),
        (result.accepted, logging.INFO, "ok"),
        (result.trace_reset, logging.INFO, "trace validation failed"),
        (result.retry, logging.INFO, "accepted, but not yet completed"),
    ), (logging.WARNING, "failed"))
    return result


# -- PATCH /jobs/:id/trace ---------------------------------------------------------------------


def content_range(offset: int, length: int) -> str:
    """gitlab-runner's `Content-Range`: `<start>-<end>`, end inclusive, no unit, no total."""
    return f"{offset}-{offset + length - 1}"


def trace_patch_result(
    status: int, headers: Mapping[str, str], offset: int, length: int, *, job_id: int | None = None
) -> TracePatch:
    """What a `PATCH /jobs/:id/trace` answer means (gitlab-runner `createPatchTraceResult`)."""
    job_status = header(headers, JOB_STATUS_HEADER)
    interval = parse_update_interval(header(headers, UPDATE_INTERVAL_HEADER) or None, job_id=job_id)
    abort = is_abort(status, job_status)
    mismatch = not abort and status == 416
    if abort:
        sent_until = offset
    elif status == 202:
        sent_until = offset + length
    elif mismatch:
        sent_until = parse_range_end(header(headers, RANGE_HEADER))
    else:
        sent_until = offset
    return TracePatch(
        status=status,
        sent_until=sent_until,
        job_status=job_status,
        update_interval=interval,
        cancel_requested=job_status == CANCELING,
        abort=abort,
        range_mismatch=mismatch,
    )


def patch_trace(
    client: GitLabClient,
    job_id: int,
    job_token: str,
    data: bytes,
    offset: int,
    *,
    debug_trace: bool = False,
) -> TracePatch:
    """`PATCH /jobs/:id/trace`: append `data` at `offset` (API spec §8). Raises TransportError.

    `data` must not be empty (gitlab-runner never sends an empty patch).
    """
    if not data:
        raise ValueError("an empty trace patch is never sent")
    if offset < 0:
        raise ValueError(f"trace offset must not be negative, got {offset}")
    sent = content_range(offset, len(data))
    try:
        response, _ = _send(
            client, "PATCH", f"jobs/{job_id}/trace",
            content=data,
            content_type="text/plain",
            headers={"JOB-TOKEN": job_token, "Content-Range": sent},
            params={"debug_trace": "true" if debug_trace else "false"},
        )
    except RateLimitError:
        return TracePatch(429, offset, "", None, cancel_requested=False, abort=False,
                          range_mismatch=False)
    result = trace_patch_result(
        response.status_code, response.headers, offset, len(data), job_id=job_id
    )
    extra = fields(
        job=job_id, sent_log=sent, job_log=response.headers.get(RANGE_HEADER, ""),
        job_status=result.job_status, code=result.status,
        update_interval=result.update_interval, correlation_id=_request_id(response),
    )
    _log_answer("Appending trace to coordinator...", extra, (
        (result.abort, logging.WARNING, "job failed"),
        (result.ok, logging.DEBUG, "ok"),
        (result.not_found, logging.WARNING, "not-found"),
        (result.range_mismatch, logging.WARNING, "range mismatch"),
    ), (logging.WARNING, "failed"))
    return result
