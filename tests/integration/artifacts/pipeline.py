"""Jobs taken from the coordinator and run by `runnerfleet.build.Build` with the shell executor.

Each job goes the whole way: GitLab's payload from `/jobs/request`, the generated stage scripts,
the helper commands they call (this installation's `runnerfleet`), uploads/downloads against the
coordinator, and the final state sent back.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runnerfleet.build import Build, JobResult
from runnerfleet.config import CacheConfig, RunnerConfig
from runnerfleet.executors.shell import ShellExecutorProvider
from runnerfleet.trace import TraceBuffer
from tests.integration.artifacts.helpers import Api, Taken

_ANSI = re.compile(r"\x1b\[[0-9;]*[mK]|section_(start|end):\d+:\S+\r")
# The sandbox project's repository is empty; jobs here create their files themselves.
EMPTY_CHECKOUT = [{"key": "GIT_STRATEGY", "value": "empty"}]


@dataclass
class Ran:
    taken: Taken
    result: JobResult
    log: str  # without colours and section markers

    @property
    def state(self) -> str:
        return self.result.state


class Runner:
    """One shell runner (its own working directory, builds and cache dirs) serving the coordinator."""

    def __init__(self, api: Api, workdir: Path, *, cache: CacheConfig | None = None,
                 **config: Any) -> None:
        self.api = api
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        home = workdir / "home"
        home.mkdir(exist_ok=True)
        self.env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        self.config = RunnerConfig(name="e2e", url=api.url, token=api.runner_token, executor="shell",
                                   **config)
        if cache is not None:
            self.config.cache = cache

    def run(self, *script: str, variables: list[dict[str, Any]] | None = None,
            after_take: Callable[[Taken], None] | None = None, **body: Any) -> Ran:
        """Enqueue, take and run one job; `after_take` runs between taking and running it."""
        taken = self.api.take(script=list(script), variables=[*EMPTY_CHECKOUT, *(variables or [])], **body)
        if after_take is not None:
            after_take(taken)
        trace = TraceBuffer(timestamps=False)
        build = Build(taken.payload, self.config, trace, system_id="s_0123456789ab", concurrent_id=0,
                      concurrent_project_id=0, working_directory=self.workdir,
                      provider=ShellExecutorProvider(environ=self.env, graceful_kill_timeout=5,
                                                     force_kill_timeout=5))
        result = build.run()
        self.api.finish(taken, "success" if result.state == "success" else "failed")
        return Ran(taken, result, _ANSI.sub("", trace.bytes_since(0).decode("utf-8", "replace")))

    @property
    def cache_root(self) -> Path:
        return Path(self.config.cache_dir) if self.config.cache_dir else self.workdir / "cache"
