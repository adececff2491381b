"""Unhealthy back-off (§4.5), live config reload (§2.2) and the metrics listen address."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from runnerfleet.config import Config, Duration, RunnerConfig
from runnerfleet.errors import RunnerfleetError
from runnerfleet.service.config_holder import ConfigHolder, long_polling_warning
from runnerfleet.service.health import HealthTracker
from runnerfleet.service.metrics_server import listen_address


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _runner(**kw: object) -> RunnerConfig:
    runner = RunnerConfig(name="r", url="http://gitlab.example", token="glrt-secrettoken1",
                          executor="shell")
    for key, value in kw.items():
        setattr(runner, key, value)
    return runner


def test_runner_is_paused_after_the_limit_and_forced_once_after_the_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    health = HealthTracker(clock)
    runner = _runner(unhealthy_requests_limit=2, unhealthy_interval=Duration.parse("10m"))
    caplog.set_level(logging.INFO, logger="runnerfleet")
    health.mark(runner, False)
    assert health.is_healthy(runner)
    health.mark(runner, False)
    assert not health.is_healthy(runner)
    assert 'Runner "http://gitlab.examplesecrettok" is unhealthy and will be disabled for 10m0s ' \
           "seconds!" in caplog.text
    assert "glrt-secrettoken1" not in caplog.text
    clock.now += 601
    assert health.is_healthy(runner)
    assert "check for a new job will be forced" in caplog.text
    health.mark(runner, False)
    assert health.is_healthy(runner)  # the count started again


def test_a_healthy_answer_resets_the_count() -> None:
    health = HealthTracker(Clock())
    runner = _runner()  # default limit 3
    for _ in range(2):
        health.mark(runner, False)
    health.mark(runner, True)
    for _ in range(2):
        health.mark(runner, False)
    assert health.is_healthy(runner)


def test_failed_reload_keeps_the_old_config_and_is_not_retried_until_the_file_changes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text("concurrent = 4\n")
    seen: list[int] = []
    holder = ConfigHolder(path, user="builder", on_loaded=lambda c: seen.append(c.concurrent))
    holder.load()
    assert holder.current.concurrent == 4 and holder.current.user == "builder"
    path.write_text("concurrent = [\n")
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
    caplog.set_level(logging.INFO, logger="runnerfleet")
    assert holder.check() is False
    assert "Failed to load config" in caplog.text and str(path) in caplog.text
    assert holder.current.concurrent == 4
    caplog.clear()
    assert holder.check() is False and caplog.text == ""  # same broken file: not retried
    path.write_text("concurrent = 6\n")
    os.utime(path, ns=(path.stat().st_mtime_ns + 2 * 10**9,) * 2)
    assert holder.check() is True
    assert holder.current.concurrent == 6 and seen == [4, 6]
    assert "Configuration loaded" in caplog.text


def test_long_polling_warning_names_each_bottleneck() -> None:
    config = Config(concurrent=1, runners=[_runner(limit=2), _runner(request_concurrency=4)])
    text = long_polling_warning(config)
    assert text is not None
    assert "'concurrent' setting (1) is less than number of runners (2)" in text
    assert "1 runners have request_concurrency=1" in text
    assert "Build limit bottleneck: 1 runners" in text
    assert long_polling_warning(Config(concurrent=2, runners=[_runner(request_concurrency=2)])) is None


def test_listen_address_flag_wins_and_the_port_defaults_to_9252() -> None:
    assert listen_address("", None) == ""
    assert listen_address("127.0.0.1:9000", None) == "127.0.0.1:9000"
    assert listen_address("127.0.0.1:9000", "127.0.0.1:9100") == "127.0.0.1:9100"
    assert listen_address("localhost", None) == "localhost:9252"
    with pytest.raises(RunnerfleetError, match="port must be a number"):
        listen_address("localhost:http", None)
