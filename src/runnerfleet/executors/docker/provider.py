"""Creates docker executors; keeps one connection per daemon and removes orphans when it first connects."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence

from runnerfleet.config import DockerConfig, RunnerConfig
from runnerfleet.executors.base import Executor, ExecutorFeatures
from runnerfleet.executors.docker.daemon import Daemon, DockerDaemonError, Endpoint
from runnerfleet.executors.docker.executor import HELPER_IMAGE, DockerExecutor, KillTimeouts
from runnerfleet.executors.docker.resources import remove_orphans

log = logging.getLogger(__name__)


class DockerExecutorProvider:
    """The `docker` executor provider.

    `environ` replaces os.environ for DOCKER_HOST/DOCKER_CERT_PATH/DOCKER_TLS_VERIFY fallbacks;
    `ssh_options` are extra `ssh` arguments for `ssh://` hosts (e.g. `-i key`); `kill_timeouts`
    bound the §5.10 kill sequence; `helper_image` is the default helper image.
    """

    name = "docker"

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        ssh_options: Sequence[str] = (),
        kill_timeouts: KillTimeouts | None = None,
        helper_image: str = HELPER_IMAGE,
    ) -> None:
        self._environ = None if environ is None else dict(environ)
        self._ssh_options = list(ssh_options)
        self.kill_timeouts = kill_timeouts or KillTimeouts()
        self.helper_image = helper_image
        self._lock = threading.Lock()
        self._daemons: dict[Endpoint, Daemon] = {}
        self.orphans_removed = 0

    def endpoint(self, cfg: DockerConfig | None) -> Endpoint:
        cfg = cfg or DockerConfig()
        return Endpoint.from_config(cfg.host, cfg.tls_verify, cfg.tls_cert_path, self._environ)

    def daemon_for(self, cfg: DockerConfig | None) -> Daemon:
        """The connected daemon of a `[runners.docker]` section; the first connection removes orphans."""
        endpoint = self.endpoint(cfg)
        with self._lock:
            daemon = self._daemons.get(endpoint)
            if daemon is not None and daemon.usable:
                return daemon
            if daemon is not None:
                daemon.close()
            daemon = Daemon(endpoint, ssh_options=self._ssh_options)
            self._daemons[endpoint] = daemon
        try:
            removed = remove_orphans(daemon)
        except DockerDaemonError as exc:
            log.warning("docker %s: could not look for orphaned containers: %s", endpoint.host, exc)
        else:
            self.orphans_removed += removed
            if removed:
                log.warning("docker %s: removed %d containers, networks and volumes of runner processes "
                            "that are gone", endpoint.host, removed)
        return daemon

    def close(self) -> None:
        with self._lock:
            daemons, self._daemons = list(self._daemons.values()), {}
        for daemon in daemons:
            daemon.close()

    # -- ExecutorProvider -------------------------------------------------------------------------

    @property
    def shared(self) -> bool:
        return False

    def can_create(self) -> bool:
        return True

    def create(self) -> Executor:
        return DockerExecutor(self)

    def acquire(self, runner: RunnerConfig) -> object | None:
        return None

    def release(self, runner: RunnerConfig, data: object | None) -> None:
        pass

    def features(self) -> ExecutorFeatures:
        return ExecutorFeatures(variables=True, shared=False, session=False, terminal=False)

    def default_shell(self) -> str:
        return "bash"

