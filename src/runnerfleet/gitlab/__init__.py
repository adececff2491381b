"""runnerfleet's client for GitLab's runner API (the only HTTP client of the engine)."""

from runnerfleet.gitlab.client import GitLabClient
from runnerfleet.gitlab.info import runner_info
from runnerfleet.gitlab.models import RunnerRegistration, TLSSettings, TokenReset

__all__ = ["GitLabClient", "RunnerRegistration", "TLSSettings", "TokenReset", "runner_info"]
