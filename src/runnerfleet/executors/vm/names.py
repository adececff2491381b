"""VM names as gitlab-runner gives them, and which names a runner's crashed jobs may have left."""

from __future__ import annotations

import re


def vm_name(base: str, short_token: str, concurrent_id: int) -> str:
    """`<base>-runner-<short token>-concurrent-<id>`: one VM per concurrent slot of a runner."""
    return f"{base}-runner-{short_token}-concurrent-{concurrent_id}"


def project_vm_name(base: str, short_token: str, project_id: int, concurrent_project_id: int) -> str:
    """`<base>-runner-<short token>-project-<id>-concurrent-<id>`: gitlab-runner's ProjectUniqueName VM."""
    return f"{base}-runner-{short_token}-project-{project_id}-concurrent-{concurrent_project_id}"


def runner_vm_pattern(short_token: str) -> re.Pattern[str]:
    """Names of VMs this runner creates (also gitlab-runner's `-project-N-concurrent-N` form)."""
    token = re.escape(short_token)
    return re.compile(rf".+-runner-{token}-(?:project-\d+-)?concurrent-\d+")
