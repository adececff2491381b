"""Executors: where and how stage scripts run (one subpackage per executor behind one protocol)."""

from runnerfleet.executors.base import (
    BuildContext,
    Executor,
    ExecutorEnvironment,
    ExecutorFeatures,
    ExecutorProvider,
    StageResult,
)
from runnerfleet.executors.errors import BuildError, FailureReason
from runnerfleet.executors.registry import get_provider, provider_names, register_provider

__all__ = [
    "BuildContext",
    "BuildError",
    "Executor",
    "ExecutorEnvironment",
    "ExecutorFeatures",
    "ExecutorProvider",
    "FailureReason",
    "StageResult",
    "get_provider",
    "provider_names",
    "register_provider",
]
