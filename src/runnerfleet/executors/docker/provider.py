"""Creates docker executors; keeps one connection per daemon and removes orphans when it first connects."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence

from runnerfleet.config import DockerConfig
from runnerfleet.executors.base import DefaultExecutorProvider, Executor
from runnerfleet.executors.docker.daemon import Daemon, DockerDaemonError, Endpoint
from runnerfleet.executors.docker.executor import HELPER_IMAGE, DockerExecutor, KillTimeouts
from runnerfleet.executors.docker.resources import JobResources, remove_orphans

log = logging.getLogger(__name__)

# Removals still running in this process (see DockerExecutorProvider.remove_later).
_removals: set[threading.Thread] = set()
_removals_lock = threading.Lock()


def wait_for_removals() -> None:
    """Until every job resource removal started in this process has ended."""
    while True:
        with _removals_lock:
            pending = list(_removals)
        if not pending:
            return
        for thread in pending:
            thread.join()


class DockerExecutorProvider(DefaultExecutorProvider):
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

    def remove_later(self, resources: JobResources) -> None:
        """Remove a finished job's containers, network and volumes without delaying its final status.

        gitlab-runner removes them before it reports the job; here the removal (~0.2 s of API
        calls per job) overlaps the final update instead. It is still guaranteed: the thread is
        not a daemon thread, so the interpreter waits for it on every orderly exit (including
        SIGTERM/SIGQUIT shutdowns); a runner killed before it finished leaves resources labelled
        with its owner (process id + start time), which the next runnerfleet process connecting
        to the daemon removes as orphans (`remove_orphans`). Problems are logged: the job's log
        is already closed.
        """
        def remove() -> None:
            try:
                for problem in resources.remove_all():
                    log.warning("docker: cleanup of job %d: %s", resources.job_id, problem)
            finally:
                with _removals_lock:
                    _removals.discard(thread)

        # daemon=False said out loud: a thread inherits the daemon flag of the thread that
        # starts it, and jobs run in daemon threads in `runnerfleet exec`, whose exit must wait.
        thread = threading.Thread(target=remove, name=f"docker-cleanup-{resources.job_id}",
                                  daemon=False)
        with _removals_lock:
            _removals.add(thread)
        thread.start()

    def wait_for_removals(self) -> None:
        """Until every job's resources handed to `remove_later` (by any provider) are removed."""
        wait_for_removals()

    def close(self) -> None:
        self.wait_for_removals()
        with self._lock:
            daemons, self._daemons = list(self._daemons.values()), {}
        for daemon in daemons:
            daemon.close()

    # -- ExecutorProvider -------------------------------------------------------------------------

    def create(self) -> Executor:
        return DockerExecutor(self)

