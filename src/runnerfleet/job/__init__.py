"""The job GitLab hands a runner: typed payload, variables and their expansion."""

from runnerfleet.job.errors import JobPayloadError
from runnerfleet.job.payload import JobPayload
from runnerfleet.job.variables import JobVariables, Variable

__all__ = ["JobPayload", "JobPayloadError", "JobVariables", "Variable"]
