"""The one typed wrapper around the docker SDK: connect to a daemon and call its Engine API.

Everything else in the docker executor talks to `Daemon`; no other module imports `docker`.
Containers, networks and volumes are described with the Engine API's own JSON shapes
(`HostConfig`, `NetworkingConfig`, ...), so every `[runners.docker]` key maps to one field.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
import docker.tls

from runnerfleet.errors import RunnerfleetError
from runnerfleet.executors.docker.ssh_tunnel import SshTunnel, SshTunnelError, parse_ssh_host

DEFAULT_HOST = "unix:///var/run/docker.sock"
# Each running stage holds one hijacked attach connection; 8+ parallel jobs need a larger pool.
POOL_SIZE = 64
API_TIMEOUT = 120


class DockerDaemonError(RunnerfleetError):
    """The daemon could not be reached or answered with an error; names the endpoint or object."""


class NotFound(DockerDaemonError):
    """The container, image, network or volume does not exist (any more)."""


@dataclass(frozen=True)
class Endpoint:
    """Where a daemon is and how to talk to it (`[runners.docker]` host/tls keys, env fallbacks)."""

    host: str
    tls_verify: bool = False
    tls_cert_path: str = ""

    @classmethod
    def from_config(cls, host: str, tls_verify: bool, tls_cert_path: str,
                    environ: Mapping[str, str] | None = None) -> Endpoint:
        env = os.environ if environ is None else environ
        return cls(host=host or env.get("DOCKER_HOST", "") or DEFAULT_HOST,
                   tls_verify=tls_verify or env.get("DOCKER_TLS_VERIFY", "") not in ("", "0"),
                   tls_cert_path=tls_cert_path or env.get("DOCKER_CERT_PATH", ""))


def _tls_config(endpoint: Endpoint) -> Any:
    if not (endpoint.tls_verify or endpoint.tls_cert_path):
        return None
    if not endpoint.tls_cert_path:
        raise DockerDaemonError(f"runners.docker.tls_verify is set for {endpoint.host} but "
                                "runners.docker.tls_cert_path (or DOCKER_CERT_PATH) is empty: set it to the "
                                "directory holding ca.pem, cert.pem and key.pem")
    paths = {name: os.path.join(endpoint.tls_cert_path, name) for name in ("ca.pem", "cert.pem", "key.pem")}
    missing = [p for p in paths.values() if not os.path.isfile(p)]
    if missing:
        raise DockerDaemonError(f"runners.docker.tls_cert_path {endpoint.tls_cert_path}: missing "
                                f"{', '.join(missing)} (ca.pem, cert.pem and key.pem are needed)")
    return docker.tls.TLSConfig(client_cert=(paths["cert.pem"], paths["key.pem"]),
                                ca_cert=paths["ca.pem"], verify=endpoint.tls_verify)


def _explain(exc: Exception, what: str) -> str:
    if isinstance(exc, docker.errors.APIError):
        return f"{what}: {exc.explanation or exc}"
    return f"{what}: {exc}"


@contextlib.contextmanager
def _api(what: str) -> Iterator[None]:
    """Turn docker SDK and transport errors into one-line DockerDaemonErrors."""
    try:
        yield
    except docker.errors.NotFound as exc:
        raise NotFound(_explain(exc, what)) from None
    except docker.errors.APIError as exc:
        raise DockerDaemonError(_explain(exc, what)) from None
    except docker.errors.DockerException as exc:
        raise DockerDaemonError(_explain(exc, what)) from None
    except OSError as exc:  # requests' ConnectionError is an OSError too
        raise DockerDaemonError(f"{what}: {exc}") from None


class Daemon:
    """One connected docker daemon; thread-safe (calls share a connection pool)."""

    def __init__(self, endpoint: Endpoint, *, ssh_options: list[str] | None = None) -> None:
        self.endpoint = endpoint
        self._tunnel: SshTunnel | None = None
        base_url = endpoint.host
        if base_url.startswith("ssh://"):
            # The docker SDK's own ssh transport needs paramiko; an OpenSSH unix-socket forward
            # gives a plain local socket instead (what gitlab-runner's ssh dialer does in Go).
            try:
                self._tunnel = SshTunnel(parse_ssh_host(base_url), options=ssh_options or [])
                base_url = "unix://" + self._tunnel.start()
            except SshTunnelError as exc:
                raise DockerDaemonError(str(exc)) from None
        tls = _tls_config(endpoint)
        if tls is not None and base_url.startswith("tcp://"):
            base_url = "https://" + base_url.removeprefix("tcp://")
        try:
            unreachable = (f"Cannot connect to the Docker daemon at {endpoint.host}. "
                           "Is the docker daemon running?")
            with _api(unreachable):
                # A placeholder version: the real one is asked for once trust_env is off.
                self.api: Any = docker.APIClient(base_url=base_url, tls=tls, version="1.24",
                                                 timeout=API_TIMEOUT, max_pool_size=POOL_SIZE)
                # requests would let REQUESTS_CA_BUNDLE replace tls_cert_path's ca.pem, and
                # HTTP(S)_PROXY (meant for jobs) reroute the daemon connection: neither applies.
                self.api.trust_env = False
                self.api._version = str(self.api.version(api_version=False)["ApiVersion"])
        except DockerDaemonError:
            self.close()
            raise
        self.api_version: str = str(self.api.api_version)
        self._lock = threading.Lock()

    @property
    def usable(self) -> bool:
        """False once an SSH forward has died (the connection must be made again)."""
        return self._tunnel is None or self._tunnel.alive

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if hasattr(self, "api"):
                self.api.close()
        if self._tunnel is not None:
            self._tunnel.stop()

    # -- images -----------------------------------------------------------------------------------

    def image(self, name: str) -> dict[str, Any] | None:
        """The image's inspect data, or None when the daemon does not have it."""
        try:
            with _api(f'inspect image "{name}"'):
                return dict(self.api.inspect_image(name))
        except NotFound:
            return None

    def pull(self, name: str, auth: dict[str, str] | None = None) -> None:
        """Pull `name` (a tag defaults to latest); raises DockerDaemonError with the daemon's reason."""
        repository, tag = split_image(name)
        with _api(f'pull image "{name}"'):
            for event in self.api.pull(repository, tag=tag or None, stream=True, decode=True,
                                       auth_config=auth):
                if isinstance(event, dict) and event.get("error"):
                    raise DockerDaemonError(f'pull image "{name}": {event["error"]}')

    # -- containers -------------------------------------------------------------------------------

    def create_container(self, name: str, config: dict[str, Any]) -> str:
        with _api(f"create container {name}"):
            created = self.api.create_container_from_config(config, name=name)
        return str(created["Id"])

    def start(self, container: str) -> None:
        with _api(f"start container {container[:12]}"):
            self.api.start(container)

    def attach(self, container: str) -> socket.socket:
        """A raw socket carrying the container's stdin (write) and multiplexed stdout/stderr (read)."""
        with _api(f"attach to container {container[:12]}"):
            sock = self.api.attach_socket(container, params={"stdin": 1, "stdout": 1, "stderr": 1,
                                                             "stream": 1})
        raw = getattr(sock, "_sock", sock)
        if not isinstance(raw, socket.socket):
            raise DockerDaemonError(f"attach to container {container[:12]}: unsupported transport "
                                    f"{type(raw).__name__}")
        return raw

    def wait(self, container: str, timeout: float | None = None) -> int:
        with _api(f"wait for container {container[:12]}"):
            result = self.api.wait(container, timeout=timeout)
        return int(result.get("StatusCode", -1))

    def inspect_container(self, container: str) -> dict[str, Any]:
        with _api(f"inspect container {container[:12]}"):
            return dict(self.api.inspect_container(container))

    def exec_attached(self, container: str, command: list[str]) -> tuple[str, socket.socket]:
        """Start `command` in a running container; (exec id, socket like `attach`'s)."""
        with _api(f"exec in container {container[:12]}"):
            created = self.api.exec_create(container, command, stdin=True, stdout=True, stderr=True)
            sock = self.api.exec_start(created["Id"], socket=True)
        raw = getattr(sock, "_sock", sock)
        if not isinstance(raw, socket.socket):
            raise DockerDaemonError(f"exec in container {container[:12]}: unsupported transport "
                                    f"{type(raw).__name__}")
        return str(created["Id"]), raw

    def exec_running(self, exec_id: str) -> bool:
        with _api(f"inspect exec {exec_id[:12]}"):
            return bool(self.api.exec_inspect(exec_id).get("Running"))

    def exec_exit_code(self, exec_id: str, timeout: float) -> int:
        """The exit code of an exec once it has ended (the stream may close just before that)."""
        end = time.monotonic() + timeout
        while True:
            with _api(f"inspect exec {exec_id[:12]}"):
                info = self.api.exec_inspect(exec_id)
            if not info.get("Running") and info.get("ExitCode") is not None:
                return int(info["ExitCode"])
            if time.monotonic() >= end:
                raise DockerDaemonError(f"exec {exec_id[:12]} did not end within {timeout:.0f} s")
            time.sleep(0.02)

    def exec_detached(self, container: str, command: list[str]) -> None:
        with _api(f"exec in container {container[:12]}"):
            created = self.api.exec_create(container, command, stdout=False, stderr=False)
            self.api.exec_start(created["Id"], detach=True)

    def stop(self, container: str, timeout: float) -> None:
        with _api(f"stop container {container[:12]}"):
            self.api.stop(container, timeout=max(int(timeout), 0))

    def kill(self, container: str) -> None:
        with _api(f"kill container {container[:12]}"):
            self.api.kill(container)

    def logs(self, container: str, tail: int = 50) -> str:
        with _api(f"read logs of container {container[:12]}"):
            data = self.api.logs(container, stdout=True, stderr=True, tail=tail)
        return bytes(data).decode("utf-8", "replace")

    def remove_container(self, container: str, *, volumes: bool) -> None:
        with contextlib.suppress(NotFound), _api(f"remove container {container[:12]}"):
            self.api.remove_container(container, v=volumes, force=True)

    def containers(self, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        with _api("list containers"):
            found = self.api.containers(all=True, filters={"label": _label_filters(labels)})
        return [dict(c) for c in found]

    def connect_network(self, network: str, container: str, aliases: list[str]) -> None:
        with _api(f"connect container {container[:12]} to network {network}"):
            self.api.connect_container_to_network(container, network, aliases=aliases or None)

    # -- networks and volumes ---------------------------------------------------------------------

    def create_network(self, name: str, labels: Mapping[str, str], *, ipv6: bool, mtu: int) -> str:
        options = {"com.docker.network.driver.mtu": str(mtu)} if mtu > 0 else None
        with _api(f"create network {name}"):
            created = self.api.create_network(name, driver="bridge", labels=dict(labels),
                                              enable_ipv6=ipv6, options=options, check_duplicate=True)
        return str(created["Id"])

    def remove_network(self, network: str) -> None:
        with contextlib.suppress(NotFound), _api(f"remove network {network[:12]}"):
            self.api.remove_network(network)

    def networks(self, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        with _api("list networks"):
            return [dict(n) for n in self.api.networks(filters={"label": _label_filters(labels)})]

    def create_volume(self, name: str, labels: Mapping[str, str], driver: str = "",
                      driver_opts: Mapping[str, str] | None = None) -> str:
        with _api(f"create volume {name}"):
            created = self.api.create_volume(name=name, driver=driver or None,
                                             driver_opts=dict(driver_opts or {}) or None,
                                             labels=dict(labels))
        return str(created["Name"])

    def volume(self, name: str) -> dict[str, Any] | None:
        try:
            with _api(f"inspect volume {name}"):
                return dict(self.api.inspect_volume(name))
        except NotFound:
            return None

    def remove_volume(self, name: str) -> None:
        with contextlib.suppress(NotFound), _api(f"remove volume {name}"):
            self.api.remove_volume(name, force=True)

    def volumes(self, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        with _api("list volumes"):
            found = self.api.volumes(filters={"label": _label_filters(labels)})
        return [dict(v) for v in (found or {}).get("Volumes") or []]


def _label_filters(labels: Mapping[str, str]) -> list[str]:
    return [f"{k}={v}" if v else k for k, v in labels.items()]


def split_image(name: str) -> tuple[str, str]:
    """(repository, tag) of an image reference; a digest stays in the repository part."""
    if "@" in name:
        return name, ""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, "latest"
