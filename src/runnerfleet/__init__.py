"""runnerfleet: a GitLab Runner in Python that reads gitlab-runner's config.toml and speaks its API."""

from runnerfleet.version import VERSION as __version__

__all__ = ["__version__"]
