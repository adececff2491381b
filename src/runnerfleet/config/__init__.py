"""The config.toml model shared by every part of runnerfleet (gitlab-runner compatible)."""

from runnerfleet.config.document import ConfigFile
from runnerfleet.config.durations import Duration
from runnerfleet.config.flags import FlagSpec, runner_flag_specs
from runnerfleet.config.paths import (
    certs_dir,
    default_config_path,
    load_system_id,
    resolve_config_path,
)
from runnerfleet.config.schema import (
    ArtifactConfig,
    CacheAzureConfig,
    CacheConfig,
    CacheGCSConfig,
    CacheS3Config,
    Config,
    CustomBuildDirConfig,
    DockerConfig,
    DockerServiceConfig,
    RunnerConfig,
    SessionServerConfig,
    SshConfig,
    VirtualBoxConfig,
)
from runnerfleet.config.sizes import parse_size
from runnerfleet.tokens import shorten_token

__all__ = [
    "ArtifactConfig",
    "CacheAzureConfig",
    "CacheConfig",
    "CacheGCSConfig",
    "CacheS3Config",
    "Config",
    "ConfigFile",
    "CustomBuildDirConfig",
    "DockerConfig",
    "DockerServiceConfig",
    "Duration",
    "FlagSpec",
    "RunnerConfig",
    "SessionServerConfig",
    "SshConfig",
    "VirtualBoxConfig",
    "certs_dir",
    "default_config_path",
    "load_system_id",
    "parse_size",
    "resolve_config_path",
    "runner_flag_specs",
    "shorten_token",
]
