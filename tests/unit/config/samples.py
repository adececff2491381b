"""Sample config.toml texts shared by the config tests."""

from __future__ import annotations

# Spec runner-engine §2.12: a file as gitlab-runner writes it.
TYPICAL = """concurrent = 1
check_interval = 0
connection_max_age = "15m0s"
shutdown_timeout = 0

[session_server]
  session_timeout = 1800

[[runners]]
  name = "host-1"
  url = "https://gitlab.example.com/"
  id = 42
  token = "glrt-abcdefghijklmnop"
  token_obtained_at = 2025-01-01T00:00:00Z
  token_expires_at = 0001-01-01T00:00:00Z
  executor = "docker"
  [runners.cache]
    MaxUploadedArchiveSize = 0
    [runners.cache.s3]
    [runners.cache.gcs]
    [runners.cache.azure]
  [runners.docker]
    tls_verify = false
    image = "alpine:latest"
    privileged = false
    disable_entrypoint_overwrite = false
    oom_kill_disable = false
    disable_cache = false
    volumes = ["/cache"]
    shm_size = 0
"""

HAND_WRITTEN = """# Managed by hand; keep comments.
concurrent = 4   # two hosts
log_level = "debug"
unknown_global = "kept"

[session_server]
  session_timeout = 1800

# --- first runner ---
[[runners]]
  name = "first"
  url = "https://gitlab.example.com/"
  token = "glrt-first-token"   # rotated by hand
  executor = "shell"
  environment = [
    "A=1",  # first
    "B=2",
  ]
  my_own_key = 'literal'
  [runners.custom_thing]
    x = 1

# --- second runner ---
[[runners]]
  name = "second"
  url = "https://gitlab.example.com/"
  token = "glrt-second-token"
  executor = "docker"
  [runners.docker]
    image = "alpine"

# --- third runner ---
[[runners]]
  name = "third"
  url = "https://gitlab.example.com/"
  token = "glrt-third-token"
  executor = "shell"
"""

