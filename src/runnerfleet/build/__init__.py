"""The job pipeline: one job from payload to final state through gitlab-runner's stage sequence."""

from runnerfleet.build.failure_reasons import map_failure_reason
from runnerfleet.build.featureflags import FEATURE_FLAG_DEFAULTS, ResolvedFlags, resolve_feature_flags
from runnerfleet.build.pipeline import Build
from runnerfleet.build.result import JobResult
from runnerfleet.build.trace_options import TraceBufferOptions, trace_buffer_options
from runnerfleet.executors.errors import BuildError, FailureReason

__all__ = [
    "FEATURE_FLAG_DEFAULTS",
    "Build",
    "BuildError",
    "FailureReason",
    "JobResult",
    "ResolvedFlags",
    "TraceBufferOptions",
    "map_failure_reason",
    "resolve_feature_flags",
    "trace_buffer_options",
]
