"""A local GitLab-compatible coordinator: the runner registration and job API over SQLite."""

from runnerfleet.coordinator.server import CoordinatorServer

__all__ = ["CoordinatorServer"]
