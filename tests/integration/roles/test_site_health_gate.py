"""The health gate of playbooks/site.yml (`--tags health`): every runner in a host's config.toml
must be accepted by GitLab, else the play fails with one message naming host and runner."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.collection.conftest import ENGINE_VENV, HOST_PYTHON
from tests.integration.roles.conftest import RoleRunner


def host_with_runner(tmp_path: Path, url: str, token: str) -> str:
    """An inventory whose only runner host is this machine, its config.toml holding `token`."""
    config_dir = tmp_path / "gitlab-runner"
    config_dir.mkdir()
    (config_dir / "config.toml").write_text(
        f'concurrent = 1\n\n[[runners]]\n  name = "shell"\n  url = "{url}"\n'
        f'  token = "{token}"\n  executor = "shell"\n')
    (config_dir / ".runner_system_id").write_text("s_0123456789ab")
    return (
        "[runners]\n"
        f"localhost ansible_connection=local ansible_python_interpreter={HOST_PYTHON} "
        f"ansible_become=false runner_config_file={config_dir / 'config.toml'} "
        f"runner_engine_venv={ENGINE_VENV}\n"
    )


def test_the_gate_passes_when_gitlab_accepts_every_runner(
    role: RoleRunner, coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    token = coordinator.create_runner(description="gate")["token"]
    outcome = role.site(host_with_runner(tmp_path, coordinator.url, token), "--tags", "health")
    assert outcome.rc == 0, outcome.output
    assert "localhost: 1 runner(s) verified" in outcome.output
    assert token not in outcome.output


def test_the_gate_fails_naming_the_runner_gitlab_refuses(
    role: RoleRunner, coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    token = "glrt-" + "x" * 20
    outcome = role.site(host_with_runner(tmp_path, coordinator.url, token), "--tags", "health")
    assert outcome.rc != 0
    assert '"msg": "localhost: not verified by GitLab - shell: ' in outcome.output
    assert token not in outcome.output
