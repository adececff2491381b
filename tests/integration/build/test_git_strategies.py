"""GIT_STRATEGY clone, fetch and none with a real git repository (file:// URL)."""

from __future__ import annotations

import pytest

from tests.integration.build.helpers import World, payload, project_dir, run_job

pytestmark = pytest.mark.integration


def _strategy(name: str) -> list[dict[str, str]]:
    return [{"key": "GIT_STRATEGY", "value": name}]


def test_clone_checks_out_the_jobs_commit_as_detached_head(world: World) -> None:
    body = payload(world, ["git rev-parse HEAD", "git symbolic-ref -q HEAD || echo detached", "cat README"],
                   variables=_strategy("clone"))
    result, log = run_job(world, body)
    assert result.state == "success"
    assert f"Checking out {world.sha[:8]} as detached HEAD (ref is main)..." in log
    assert f"\n{world.sha}\n" in log and "\ndetached\n" in log and "hello from the repo\n" in log
    assert "Created fresh repository." in log


def test_fetch_reuses_the_previous_checkout_and_clone_starts_over(world: World) -> None:
    first, _ = run_job(world, payload(world, ["touch .git/kept-by-fetch"], variables=_strategy("fetch")))
    assert first.state == "success"
    keep = project_dir(world) / ".git" / "kept-by-fetch"
    assert keep.exists()

    result, log = run_job(world, payload(world, ["cat README"], variables=_strategy("fetch")))
    assert result.state == "success"
    assert "Created fresh repository." not in log and keep.exists()

    result, log = run_job(world, payload(world, ["cat README"], variables=_strategy("clone")))
    assert result.state == "success"
    assert "Created fresh repository." in log and not keep.exists()


def test_fetch_into_a_kept_checkout_without_origin_adds_it_again(world: World) -> None:
    first, _ = run_job(world, payload(world, ["git remote remove origin"], variables=_strategy("fetch")))
    assert first.state == "success"

    result, log = run_job(world, payload(world, ["git remote get-url origin", "cat README"],
                                         variables=_strategy("fetch")))
    assert result.state == "success", log
    assert "Created fresh repository." in log and "hello from the repo\n" in log


def test_none_skips_git_entirely(world: World) -> None:
    body = payload(world, ['test -d .git && echo has-git || echo no-git', "pwd"], variables=_strategy("none"))
    result, log = run_job(world, body)
    assert result.state == "success"
    assert "Skipping Git repository setup" in log
    assert "no-git\n" in log and f"{project_dir(world)}\n" in log

