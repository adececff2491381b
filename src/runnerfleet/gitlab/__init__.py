"""runnerfleet's client for GitLab's runner API (the only HTTP client of the engine)."""

from runnerfleet.gitlab.client import GitLabClient
from runnerfleet.gitlab.info import runner_info
from runnerfleet.gitlab.jobs import (
    JobRequest,
    JobUpdate,
    TracePatch,
    patch_trace,
    request_job,
    update_job,
)
from runnerfleet.gitlab.models import RunnerRegistration, TLSSettings, TokenReset

__all__ = [
    "GitLabClient",
    "JobRequest",
    "JobUpdate",
    "RunnerRegistration",
    "TLSSettings",
    "TokenReset",
    "TracePatch",
    "patch_trace",
    "request_job",
    "runner_info",
    "update_job",
]
