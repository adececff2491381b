"""Two jobs of one project at once on one runner: each gets its own project dir and finishes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.build.helpers import World, payload, project_dir, start_job, wait_for_file

pytestmark = pytest.mark.integration


def test_two_concurrent_builds_never_share_a_dir(world: World, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    runs = []
    for slot in (0, 1):
        mark = tmp_path / f"started-{slot}"
        script = [f'echo "$CI_PROJECT_DIR" > {mark}', "echo mine > owner.txt",
                  # Both jobs are inside their scripts at the same time before either finishes.
                  f"while [ ! -e {gate} ]; do sleep 0.05; done", "cat owner.txt", 'echo "$CI_PROJECT_DIR"']
        runs.append(start_job(world, payload(world, script), concurrent_id=slot, concurrent_project_id=slot))
    dirs = [wait_for_file(tmp_path / f"started-{slot}").strip() for slot in (0, 1)]
    gate.touch()
    results = [run.wait() for run in runs]

    assert [r.state for r in results] == ["success", "success"]
    assert dirs == [str(project_dir(world, 0)), str(project_dir(world, 1))]
    for run, directory in zip(runs, dirs, strict=True):
        assert f"{directory}\n" in run.log
        assert "mine\n" in run.log
    assert (project_dir(world, 0) / "README").exists() and (project_dir(world, 1) / "README").exists()
