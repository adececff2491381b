"""The error raised when a stage script cannot be generated from the job's settings."""

from __future__ import annotations

from runnerfleet.errors import RunnerfleetError


class ShellScriptError(RunnerfleetError):
    """A job setting makes the script impossible (e.g. an unknown GIT_SUBMODULE_STRATEGY); one line."""
