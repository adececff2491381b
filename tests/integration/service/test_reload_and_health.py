"""Live config reload (SIGHUP and mtime) and the unhealthy-runner back-off of `runnerfleet run`."""

from __future__ import annotations

import os
import signal

from tests.integration.service.conftest import World


def _tagged(world: World, tag: str) -> dict[str, object]:
    return {"name": tag, "token": world.admin.create_runner(tag_list=[tag], run_untagged=False)}


def test_sighup_reload_adds_a_runner_and_removes_another(world: World) -> None:
    a, b = _tagged(world, "a"), _tagged(world, "b")
    world.write_config(a, concurrent=2)
    runner = world.run()
    first = world.admin.enqueue("echo on a", tags=["a"])
    assert world.admin.finished(first)["status"] == "success"
    world.write_config(b, concurrent=2)
    # The file's mtime may not have moved; SIGHUP reloads regardless.
    runner.signal(signal.SIGHUP)
    runner.wait_line("Configuration loaded", count=2)
    second = world.admin.enqueue("echo on b", tags=["b"])
    job = world.admin.finished(second)
    assert job["status"] == "success" and "on b" in job["trace"]
    orphan = world.admin.enqueue("echo on a again", tags=["a"])
    third = world.admin.enqueue("echo on b again", tags=["b"])
    assert world.admin.finished(third)["status"] == "success"
    assert world.admin.job(orphan)["status"] == "pending"  # runner a is gone
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0


def test_a_changed_file_is_reloaded_without_a_signal_and_a_broken_one_is_ignored(
    world: World,
) -> None:
    a, b = _tagged(world, "a"), _tagged(world, "b")
    world.write_config(a)
    runner = world.run()
    runner.wait_line("Configuration loaded")
    world.config.write_text("concurrent = [\n")
    runner.wait_line("Failed to load config")
    job_a = world.admin.enqueue("echo still served", tags=["a"])
    assert world.admin.finished(job_a)["status"] == "success"  # the old config stays in use
    world.write_config(a, b, concurrent=2)
    stat = world.config.stat()
    os.utime(world.config, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5 * 10**9))
    runner.wait_line("Configuration loaded", count=2)
    job_b = world.admin.enqueue("echo served by the new runner", tags=["b"])
    assert world.admin.finished(job_b)["status"] == "success"
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0


def test_a_runner_gitlab_refuses_is_disabled_after_the_unhealthy_limit(world: World) -> None:
    world.write_config({"name": "bad", "token": "glrt-not-known-to-gitlab",
                        "unhealthy_requests_limit": 2, "unhealthy_interval": "1h"},
                       {"name": "good", "token": world.admin.create_runner()}, concurrent=2)
    runner = world.run()
    line = runner.wait_line("is unhealthy and will be disabled for")
    assert "1h0m0s seconds" in line and "unhealthy_requests=2" in line
    assert "glrt-not-known-to-gitlab" not in runner.output  # tokens are shortened in logs
    requests_before = len([r for r in world.admin.requests("POST", "jobs/request")
                           if r["status"] == 403])
    # The healthy runner keeps working meanwhile.
    job = world.admin.enqueue("echo served")
    assert world.admin.finished(job)["status"] == "success"
    refused = [r for r in world.admin.requests("POST", "jobs/request") if r["status"] == 403]
    assert len(refused) == requests_before == 2
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0


def test_a_broken_config_at_start_is_one_clear_error_and_exit_1(world: World) -> None:
    world.config.write_text("concurrent = 2\n[[runners]]\n  name = 'x'\n  limit = 'many'\n")
    runner = world.run()
    assert runner.wait() == 1
    assert str(world.config) in runner.output and "limit" in runner.output
    assert "Traceback" not in runner.output


def test_concurrent_0_is_refused_at_start(world: World) -> None:
    world.write_config({"token": world.admin.create_runner()}, concurrent=0)
    runner = world.run()
    assert runner.wait() == 1
    assert "Current configuration 'concurrent = 0' means that no jobs will be processed" \
        in runner.output
