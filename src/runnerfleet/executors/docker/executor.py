"""The docker executor: a job's stages run in a build container (its image) and, if needed, a helper.

Engine spec §2.8–2.9, §5.2 (which stage runs where), §5.10 (kill). `prepare` checks and obtains
the images (with registry credentials), makes the job's volume, network, services and containers;
`run` runs a stage: helper stages as execs in the helper container, user steps and after_script
in the build container (one shell session per job for images without an ENTRYPOINT, else a start
per stage). A job whose helper stages have no real work gets no helper container: they run in the
build container's session. `cleanup` hands everything of the job to a removal that runs after the
job's final status (see README.md).
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runnerfleet.config import DockerConfig, RunnerConfig
from runnerfleet.executors.base import REMOTE_RUNNER_COMMAND, BuildContext, ExecutorEnvironment, StageResult
from runnerfleet.executors.docker import auth
from runnerfleet.executors.docker import labels as L
from runnerfleet.executors.docker.attach import AttachOutcome, run_attached, run_exec
from runnerfleet.executors.docker.auth import RegistryAuth
from runnerfleet.executors.docker.daemon import Daemon, DockerDaemonError, NotFound
from runnerfleet.executors.docker.images import check_allowed, obtain, pull_policies
from runnerfleet.executors.docker.options import (
    Mounts,
    build_host_config,
    config_error,
    gpu_explanation,
    privileged_explanation,
    service_host_config,
)
from runnerfleet.executors.docker.resources import JobResources
from runnerfleet.executors.docker.services import (
    ServiceSpec,
    StartedService,
    all_aliases,
    exposed_ports,
    service_specs,
    wait_for_services,
)
from runnerfleet.executors.docker.session import BuildSession
from runnerfleet.executors.docker.volumes import bind, cache_host_dir, cache_volume_name, parse_volume
from runnerfleet.executors.errors import BuildError, FailureReason
from runnerfleet.job import JobPayload, JobVariables, Variable
from runnerfleet.job.payload import Credentials
from runnerfleet.trace import STDERR, STDOUT, STREAM_WORK, TraceBuffer
from runnerfleet.version import VERSION

if TYPE_CHECKING:
    from runnerfleet.executors.docker.provider import DockerExecutorProvider

DEFAULT_BUILDS_DIR = "/builds"
DEFAULT_CACHE_DIR = "/cache"
HELPER_IMAGE = f"runnerfleet/helper:{VERSION}"
HELPER_STAGES = frozenset({
    "prepare_script", "get_sources", "clear_worktree", "restore_cache", "download_artifacts",
    "archive_cache", "archive_cache_on_failure", "upload_artifacts_on_success",
    "upload_artifacts_on_failure", "cleanup_file_variables",
})
_SHELLS = {
    "bash": ("/usr/local/bin/bash", "/usr/bin/bash", "/bin/bash", "/usr/local/bin/sh", "/usr/bin/sh",
             "/bin/sh", "/busybox/sh"),
    "sh": ("/usr/local/bin/sh", "/usr/bin/sh", "/bin/sh", "/busybox/sh"),
}
# Sent into a container on cancel/timeout: SIGTERM to every process but PID 1 (and itself).
_TERM_ALL = "kill -TERM -1 2>/dev/null; exit 0"
_KILL_ALL = "kill -KILL -1 2>/dev/null; exit 0"
# The helper container's PID 1: it only waits; each helper stage is an exec with the script on
# stdin (an exec costs a fraction of a container start, and the helper image has no entrypoint).
_HELPER_KEEPALIVE = ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"]


def detect_shell_command(shell: str) -> list[str]:
    """The container command: the first shell found on the image's usual paths reads the script."""
    tests = " ".join(f'[ -x {path} ] && exec {path};' for path in _SHELLS[shell])
    return ["sh", "-c", f"{tests} echo shell not found >&2; exit 1"]


def is_helper_stage(stage: str) -> bool:
    """Whether gitlab-runner runs `stage` in the helper (predefined) container: not user steps."""
    return not (stage.startswith("step_") or stage == "after_script")


@dataclass(frozen=True)
class KillTimeouts:
    """§5.10: wait after SIGTERM to every process, then after `docker stop`'s SIGTERM to PID 1."""

    graceful: float = 10.0
    force: float = 10.0


def _env_list(runner: RunnerConfig) -> list[str]:
    return [e for e in runner.job_environment if "=" in e]


def _variables(runner: RunnerConfig, payload: JobPayload | None) -> JobVariables:
    """Runner `environment` + job variables, expanded: what image and service names may use."""
    variables = JobVariables()
    for entry in runner.job_environment:
        key, sep, value = entry.partition("=")
        if sep and key:
            variables.append(Variable(key, value, public=True))
    if payload is not None:
        variables.extend(payload.variables)
    return variables.expanded()


def _git_strategy(payload: JobPayload | None, variables: JobVariables) -> str:
    """GIT_STRATEGY as get_sources applies it (an invalid value falls back to the default)."""
    default = "fetch" if payload is not None and payload.allow_git_fetch else "clone"
    value = variables.get("GIT_STRATEGY") or ""
    return value if value in ("clone", "fetch", "none", "empty") else default


def needs_helper(runner: RunnerConfig, payload: JobPayload | None, variables: JobVariables) -> bool:
    """Whether a helper stage of the job has real work (git, cache, artifacts, file variables, hooks).

    Without any, the helper stages only print and make/remove the project's directories, which
    any shell does as well in the build container (engine spec §5.2 puts them in the helper
    container because of the tools they need, not for isolation).
    """
    if payload is None:
        return True
    if variables.get("GIT_STRATEGY") not in ("none", "empty"):
        return True
    if payload.cache or payload.artifacts or any(d.artifacts_file.filename for d in payload.dependencies):
        return True
    if any(v.file for v in payload.variables):
        return True
    if runner.tls_ca_file or runner.tls_cert_file or runner.tls_key_file:
        return True  # CI_SERVER_TLS_*_FILE are file variables
    return bool(runner.pre_get_sources_script or runner.post_get_sources_script or payload.hooks)


def _is_root(user: str) -> bool:
    return user.split(":", 1)[0] in ("", "root", "0")


class DockerExecutor:
    """One job on one docker daemon; not shared between jobs (CI_DISPOSABLE_ENVIRONMENT)."""

    def __init__(self, provider: DockerExecutorProvider) -> None:
        self._provider = provider
        self._trace: TraceBuffer | None = None
        self._daemon: Daemon | None = None
        self._resources: JobResources | None = None
        self._cfg = DockerConfig()
        self.build_container: str | None = None
        self.helper_container: str | None = None
        self._helper_started = False
        self._helper_image = ""
        self._helper_data: str | None = None
        self._helper_config: dict[str, Any] = {}
        self._light = False
        self._session: BuildSession | None = None
        self._auth_source: tuple[str, list[Credentials]] = ("", [])
        self._registry_auth: dict[str, RegistryAuth] | None = None
        self._shell = "bash"
        self.kill_timeouts = provider.kill_timeouts

    # -- prepare ------------------------------------------------------------------------------

    def prepare(self, ctx: BuildContext) -> ExecutorEnvironment:
        deadline = None if ctx.prepare_timeout is None else time.monotonic() + ctx.prepare_timeout
        runner = ctx.runner
        trace = self._trace = ctx.trace
        payload = ctx.payload
        cfg = self._cfg = runner.docker or DockerConfig()
        shell = self._shell = runner.shell or "bash"
        if shell not in _SHELLS:
            raise BuildError(f'runners.shell "{shell}" is not supported by the docker executor, '
                             "use bash or sh",
                             failure_reason=FailureReason.RUNNER_CONFIGURATION_ERROR)
        variables = _variables(runner, payload)
        expand = variables.expand

        job_image = payload.image if payload is not None and payload.image and payload.image.name else None
        image = expand(job_image.name) if job_image is not None else expand(cfg.image)
        if not image:
            raise BuildError("no Docker image specified to run the build in",
                             failure_reason=FailureReason.RUNNER_CONFIGURATION_ERROR)
        trace.println(f"Using Docker executor with image {image} ...")
        if job_image is not None and image != expand(cfg.image):
            check_allowed("image", image, cfg.allowed_images, trace)
        specs = service_specs(cfg, payload, expand)
        limit = cfg.effective_services_limit
        if 0 <= limit < len(specs):
            raise config_error("services_limit", f"the job needs {len(specs)} services, the limit is {limit}")
        for spec in specs:
            if spec.from_job:
                check_allowed("service", spec.name, cfg.allowed_services, trace)
        policies = pull_policies(job_image.pull_policy if job_image else [], cfg.pull_policy,
                                 cfg.allowed_pull_policies, image)
        user = self._user(cfg, payload)

        daemon = self._daemon = self._provider.daemon_for(cfg)
        self._helper_image = expand(cfg.helper_image) if cfg.helper_image else self._provider.helper_image
        # A job whose helper stages have no real work (no git, cache, artifacts, file variables,
        # hooks) needs no helper container: those stages run in the build container's session.
        light = not needs_helper(runner, payload, variables)
        if not light:
            self._obtain_helper()
        self._auth_source = (variables.get("DOCKER_AUTH_CONFIG"),
                             list(payload.credentials) if payload is not None else [])
        job_image_data = obtain(daemon, image, policies, trace, self._auth_for(image))
        entrypoint = self._entrypoint(cfg, job_image.entrypoint if job_image else None, trace)
        image_config = job_image_data.data.get("Config") or {}
        # One shell session per job needs a start that runs only runnerfleet's shell (no
        # ENTRYPOINT to re-run per stage, as gitlab-runner does) and a private PID namespace (its
        # end-of-stage `kill -9 -1` must only reach the job's own processes).
        effective_entrypoint = [e for e in (entrypoint if entrypoint is not None
                                            else image_config.get("Entrypoint") or []) if e]
        session = not effective_entrypoint and not cfg.pid_mode
        # Helper stages in the build container run as its user; gitlab-runner's helper is root.
        self._light = light and session and _is_root(user or str(image_config.get("User") or ""))
        if not self._light and self._helper_data is None:
            self._obtain_helper()

        base_labels = self._base_labels(runner, payload, ctx.job_id, variables)
        res = self._resources = JobResources(daemon, runner.short_token or "runner", ctx.job_id, base_labels,
                                             volume_keep=cfg.volume_keep)
        builds_dir = runner.builds_dir or DEFAULT_BUILDS_DIR
        cache_dir = runner.cache_dir or DEFAULT_CACHE_DIR
        project_id = payload.job_info.project_id if payload is not None else 0
        # As gitlab-runner: with GIT_STRATEGY=fetch the builds dir is a cache volume kept per
        # project and concurrency slot, so the next job fetches into the same checkout.
        fetch = _git_strategy(payload, variables) == "fetch"
        binds = self._volumes(cfg, res, runner.short_token or "runner", project_id, builds_dir,
                              keep_builds=(ctx.concurrent_project_id if fetch else None))
        mounts = Mounts(binds=tuple(binds))

        network, links_to_services = self._network(cfg, res, ctx)
        services = self._start_services(daemon, cfg, res, specs, mounts, network, variables, runner)
        wait_timeout = cfg.effective_wait_for_services_timeout if cfg.wait_for_services_timeout >= 0 else -1
        if services and wait_timeout >= 0 and any(s.ports for s in services):
            helper_image = self._obtain_helper()
            wait_for_services(daemon, services, helper_image=helper_image, network=network,
                              timeout=wait_timeout, trace=trace, cancel_event=ctx.cancel_event,
                              deadline=deadline,
                              make_container=lambda svc, config: self._create(
                                  res, f"{svc.name}-wait", L.WAIT, {
                                      **config, "HostConfig": {"NetworkMode": network or "default"}}))
        links = [*(f"{s.name}:{alias}" for s in services for alias in all_aliases(s.spec)),
                 *cfg.links] if links_to_services else []

        hostname = cfg.hostname or f"{res.prefix}"[:63]
        env = _env_list(runner)
        # Made now, created only when a helper stage needs it (never for a light job).
        self._helper_config = {
            "Cmd": _HELPER_KEEPALIVE,
            "Entrypoint": [],
            "Env": env,
            "Hostname": hostname,
            "HostConfig": build_host_config(cfg, mounts, network_mode=network or cfg.network_mode,
                                            links=links, helper=True),
        }
        if not self._light:
            self._create_helper()
        build_config: dict[str, Any] = {
            "Image": job_image_data.id or image,
            "Cmd": detect_shell_command(shell),
            "Env": env,
            "Hostname": hostname,
            "User": user,
            "HostConfig": build_host_config(cfg, mounts, network_mode=network or cfg.network_mode,
                                            links=links, helper=False),
            **self._attach_settings(),
        }
        if entrypoint is not None:
            build_config["Entrypoint"] = entrypoint
        if cfg.mac_address:
            build_config["MacAddress"] = cfg.mac_address
        if network:
            build_config["NetworkingConfig"] = {"EndpointsConfig": {network: {"Aliases": ["build"]}}}
        self.build_container = self._create(res, f"{res.prefix}-build", L.BUILD, build_config)
        if session:
            self._session = BuildSession(daemon, self.build_container)

        custom = runner.custom_build_dir.enabled
        return ExecutorEnvironment(
            shell=shell, builds_dir=builds_dir, cache_dir=cache_dir, shared=False,
            custom_build_dir_enabled=True if custom is None else bool(custom),
            safe_directory_checkout=bool(runner.safe_directory_checkout),
            runner_command=REMOTE_RUNNER_COMMAND,
        )

    def _auth_for(self, image: str) -> RegistryAuth | None:
        """Registry credentials for `image` (sources read once per job, on the first image)."""
        if self._registry_auth is None:
            docker_auth_config, credentials = self._auth_source
            self._registry_auth, problems = auth.resolve(docker_auth_config, credentials)
            for problem in problems:
                if self._trace is not None:
                    self._trace.warning(f"Registry credentials ignored: {problem}")
        return auth.for_image(image, self._registry_auth)

    def _obtain_helper(self) -> str:
        """Have the helper image on the daemon (once per job); its reference for containers."""
        if self._helper_data is not None:
            return self._helper_data
        assert self._daemon is not None and self._trace is not None
        cfg, helper_image = self._cfg, self._helper_image
        # The default helper image is built locally (scripts/build-helper-image.sh), never pulled
        # first; an overridden one follows the runner's pull policy (engine spec §2.8).
        policies = pull_policies([], cfg.pull_policy, [], helper_image) if cfg.helper_image \
            else ["if-not-present"]
        try:
            obtain(self._daemon, helper_image, policies, self._trace,
                   self._auth_for(helper_image) if cfg.helper_image else None)
        except BuildError as exc:
            if cfg.helper_image:
                raise
            raise BuildError(f"{exc}; build it with scripts/build-helper-image.sh or set "
                             "runners.docker.helper_image", failure_reason=exc.failure_reason) from None
        self._helper_data = helper_image
        return helper_image

    def _create_helper(self) -> str:
        """The helper container, created on first need (prepare, or the first stage needing it)."""
        if self.helper_container is None:
            assert self._resources is not None
            image = self._obtain_helper()
            self.helper_container = self._create(self._resources, f"{self._resources.prefix}-helper",
                                                 L.HELPER, {"Image": image, **self._helper_config})
        return self.helper_container

    @staticmethod
    def _attach_settings() -> dict[str, Any]:
        return {"OpenStdin": True, "StdinOnce": True, "AttachStdin": True, "AttachStdout": True,
                "AttachStderr": True, "Tty": False}

    def _create(self, res: JobResources, name: str, kind: str, config: dict[str, Any]) -> str:
        config = {**config, "Labels": {**res.labels(kind), **config.get("Labels", {})}}
        with res.creating():
            container = res.daemon.create_container(name, config)
        res.containers.append(container)
        return container

    def _base_labels(self, runner: RunnerConfig, payload: JobPayload | None, job_id: int,
                     variables: JobVariables) -> dict[str, str]:
        labels = {L.JOB_ID: str(job_id), L.RUNNER_TOKEN: runner.short_token}
        if payload is not None:
            labels.update({
                L.JOB_SHA: payload.git_info.sha, L.JOB_REF: payload.git_info.ref,
                L.PROJECT_ID: str(payload.job_info.project_id),
                L.PIPELINE_ID: variables.get("CI_PIPELINE_ID"),
                L.JOB_URL: variables.get("CI_JOB_URL"),
            })
        for key, value in self._cfg.container_labels.items():
            labels[key] = variables.expand(value)
        return {k: v for k, v in labels.items() if v}

    @staticmethod
    def _user(cfg: DockerConfig, payload: JobPayload | None) -> str:
        job_user = ""
        if payload is not None and payload.image is not None:
            job_user = payload.image.executor_opts.get("docker", {}).get("user", "")
        if cfg.user:
            return cfg.user
        if job_user and cfg.allowed_users and job_user not in cfg.allowed_users:
            raise config_error("allowed_users", f'user "{job_user}" requested by the job is not allowed '
                               f"({', '.join(cfg.allowed_users)})")
        return job_user

    @staticmethod
    def _entrypoint(cfg: DockerConfig, entrypoint: list[str] | None, trace: TraceBuffer) -> list[str] | None:
        if not entrypoint:
            return None
        if cfg.disable_entrypoint_overwrite:
            trace.warning("Entrypoint override disabled")
            return None
        return list(entrypoint)

    def _volumes(self, cfg: DockerConfig, res: JobResources, short: str, project_id: int,
                 builds_dir: str, keep_builds: int | None = None) -> list[str]:
        """`keep_builds`: the concurrent project id when the builds dir is kept between jobs."""
        specs = [parse_volume(v, i) for i, v in enumerate(cfg.volumes)]
        daemon = res.daemon
        binds: list[str] = []
        if any(s.destination == builds_dir.rstrip("/") for s in specs):
            pass  # the user's own volume holds the builds
        elif keep_builds is not None and not cfg.disable_cache:
            destination = builds_dir.rstrip("/") or "/"
            if cfg.cache_dir:
                binds.append(bind(cache_host_dir(cfg.cache_dir, short, project_id, destination,
                                                 concurrent=keep_builds), builds_dir))
            else:
                name = cache_volume_name(short, project_id, destination, concurrent=keep_builds)
                with contextlib.suppress(DockerDaemonError):  # another job may be making it
                    daemon.create_volume(name, {L.MANAGED: "true", L.TYPE: L.CACHE,
                                                L.DESTINATION: destination,
                                                L.PROJECT_ID: str(project_id), L.RUNNER_TOKEN: short},
                                         cfg.volume_driver, cfg.volume_driver_ops)
                binds.append(bind(name, builds_dir))
        else:
            with res.creating():
                builds_volume = daemon.create_volume(f"{res.prefix}-builds", res.labels(L.BUILDS_VOLUME),
                                                     cfg.volume_driver, cfg.volume_driver_ops)
            res.volumes.append(builds_volume)
            binds.append(bind(builds_volume, builds_dir))
        for spec in specs:
            if not spec.is_cache:
                binds.append(bind(spec.source, spec.destination, spec.mode))
            elif cfg.disable_cache:
                with res.creating():
                    name = daemon.create_volume(f"{res.prefix}-cache-{len(res.volumes)}",
                                                res.labels(L.JOB_VOLUME),
                                                cfg.volume_driver, cfg.volume_driver_ops)
                res.volumes.append(name)
                binds.append(bind(name, spec.destination))
            elif cfg.cache_dir:
                binds.append(bind(cache_host_dir(cfg.cache_dir, short, project_id, spec.destination),
                                  spec.destination))
            else:
                name = cache_volume_name(short, project_id, spec.destination)
                # Creating an existing named volume returns it unchanged: no inspect needed first.
                with contextlib.suppress(DockerDaemonError):  # another job may be making it
                    daemon.create_volume(name, {L.MANAGED: "true", L.TYPE: L.CACHE,
                                                L.DESTINATION: spec.destination,
                                                L.PROJECT_ID: str(project_id), L.RUNNER_TOKEN: short},
                                         cfg.volume_driver, cfg.volume_driver_ops)
                binds.append(bind(name, spec.destination))
        return binds

    def _network(self, cfg: DockerConfig, res: JobResources, ctx: BuildContext) -> tuple[str, bool]:
        """(network to attach containers to, whether services are reached through legacy links)."""
        mode = cfg.network_mode
        if mode:
            # Only user-defined networks have aliases; only the default bridge has legacy links.
            if mode in ("bridge", "default"):
                return "", True
            if mode in ("none", "host") or mode.startswith("container:"):
                return "", False
            return mode, False
        if not ctx.feature_flags.get("FF_NETWORK_PER_BUILD", False):
            return "", True
        with res.creating():
            network = res.daemon.create_network(f"{res.prefix}-network", res.labels(L.NETWORK),
                                                ipv6=cfg.enable_ipv6, mtu=cfg.network_mtu)
        res.networks.append(network)
        return f"{res.prefix}-network", False

    def _start_services(self, daemon: Daemon, cfg: DockerConfig, res: JobResources,
                        specs: list[ServiceSpec], mounts: Mounts, network: str, variables: JobVariables,
                        runner: RunnerConfig) -> list[StartedService]:
        assert self._trace is not None
        started: list[StartedService] = []
        privileged = cfg.privileged if cfg.services_privileged is None else cfg.services_privileged
        job_env = [f"{v.key}={v.value}" for v in variables if not v.file]
        for index, spec in enumerate(specs):
            self._trace.println(f"Starting service {spec.name} ...")
            policies = pull_policies([], cfg.pull_policy, cfg.allowed_pull_policies, spec.name)
            data = obtain(daemon, spec.name, policies, self._trace, self._auth_for(spec.name))
            allowed_priv = not cfg.allowed_privileged_services or any(
                _glob(p, spec.name) for p in cfg.allowed_privileged_services)
            name = f"{res.prefix}-svc-{index}"
            config: dict[str, Any] = {
                "Image": data.id or spec.name,
                "Env": [*_env_list(runner), *job_env, *spec.environment],
                "HostConfig": service_host_config(cfg, mounts, network_mode=network or cfg.network_mode,
                                                  image=spec.name, privileged=privileged and allowed_priv),
                "Labels": {L.SERVICE: spec.name},
            }
            if spec.entrypoint is not None:
                if cfg.disable_entrypoint_overwrite:
                    self._trace.warning("Entrypoint override disabled")
                else:
                    config["Entrypoint"] = list(spec.entrypoint)
            if spec.command is not None:
                config["Cmd"] = list(spec.command)
            if network:
                config["NetworkingConfig"] = {"EndpointsConfig": {network: {"Aliases": all_aliases(spec)}}}
            container = self._create(res, name, L.SERVICE_TYPE, config)
            try:
                daemon.start(container)
            except DockerDaemonError as exc:
                explained = gpu_explanation("service_gpus", cfg.service_gpus, str(exc))
                raise BuildError(explained or f'service "{spec.name}": {exc}',
                                 failure_reason=FailureReason.RUNNER_SYSTEM_FAILURE) from None
            started.append(StartedService(spec, container, name, exposed_ports(data.data, spec.ports)))
        return started

    # -- run ----------------------------------------------------------------------------------

    def run(self, stage_name: str, script: str, *, timeout: float | None,
            cancel_event: threading.Event) -> StageResult:
        if self._trace is None or self._daemon is None:
            raise RuntimeError("DockerExecutor.run called before prepare")
        daemon = self._daemon
        stdout, stderr = self._trace.stream(STREAM_WORK, STDOUT), self._trace.stream(STREAM_WORK, STDERR)
        helper = is_helper_stage(stage_name)
        # A light job's helper stages ride along in the build container's session; the helper
        # container is still made should a stage turn out to call runnerfleet (cache/artifacts).
        if helper and not (self._light and f"{REMOTE_RUNNER_COMMAND} " not in script):
            try:
                container: str | None = self._create_helper()
            except (BuildError, DockerDaemonError) as exc:
                return StageResult(None, BuildError(str(exc),
                                                    failure_reason=FailureReason.RUNNER_SYSTEM_FAILURE))
        else:
            helper, container = False, self.build_container
        if container is None:
            return StageResult(None, BuildError("the job's containers were not created",
                                                failure_reason=FailureReason.RUNNER_SYSTEM_FAILURE))
        if helper:
            outcome = self._start_helper(daemon, container) or run_exec(
                daemon, container, detect_shell_command(self._shell), script.encode(),
                stdout=stdout, stderr=stderr, timeout=timeout, cancel_event=cancel_event,
                stop=lambda exec_id: self._stop_exec(daemon, container, exec_id))
        elif self._session is not None:
            outcome = self._session.run(
                script, stdout=stdout, stderr=stderr, timeout=timeout, cancel_event=cancel_event,
                stop=lambda ended: self._stop_session(daemon, container, ended))
        else:
            outcome = run_attached(
                daemon, container, script.encode(), stdout=stdout, stderr=stderr,
                timeout=timeout, cancel_event=cancel_event, stop=lambda: self._stop(daemon, container))
        if outcome.error:
            reason = FailureReason.RUNNER_SYSTEM_FAILURE
            message = outcome.error
            explained = (privileged_explanation(message) if self._cfg.privileged else None) \
                or gpu_explanation("gpus", self._cfg.gpus, message)
            if explained:
                message, reason = explained, FailureReason.RUNNER_CONFIGURATION_ERROR
            elif "No such container" in message or "not found" in message.lower():
                message = f"Container {container[:12]} not found or removed: {message}"
            return StageResult(outcome.exit_code, BuildError(message, failure_reason=reason),
                               outcome.timed_out, outcome.canceled)
        code = outcome.exit_code
        if code == 0:
            return StageResult(0, None, outcome.timed_out, outcome.canceled)
        code = -1 if code is None else code
        message = f"exit code {code}"
        limit = self._cfg.memory
        if outcome.oom_killed:
            message += (" (the container ran out of memory and was OOM-killed"
                        + (f'; runners.docker.memory = "{limit}"' if limit else "") + ")")
        elif code == 137 and limit:
            # Killed, and the daemon has not (yet) flagged an OOM kill: with a memory limit set
            # that is still by far the likeliest cause, so say so rather than leave a bare 137.
            message += (" (the script was killed, most likely by the memory limit: "
                        f'runners.docker.memory = "{limit}")')
        error = BuildError(message, failure_reason=FailureReason.SCRIPT_FAILURE, exit_code=code)
        return StageResult(code, error, outcome.timed_out, outcome.canceled)

    def _start_helper(self, daemon: Daemon, container: str) -> AttachOutcome | None:
        """Start the helper container before its first stage; the outcome when that failed."""
        if self._helper_started:
            return None
        try:
            daemon.start(container)
        except DockerDaemonError as exc:
            return AttachOutcome(None, error=str(exc))
        self._helper_started = True
        return None

    def _stop_exec(self, daemon: Daemon, container: str, exec_id: str) -> None:
        """§5.10 for a helper stage: SIGTERM, then SIGKILL, to every process but the helper's PID 1."""
        timeouts = self.kill_timeouts
        for script, wait in ((_TERM_ALL, timeouts.graceful), (_KILL_ALL, timeouts.force)):
            with contextlib.suppress(DockerDaemonError):
                daemon.exec_detached(container, ["sh", "-c", script])
            end = time.monotonic() + wait
            while time.monotonic() < end:
                try:
                    if not daemon.exec_running(exec_id):
                        return
                except DockerDaemonError:
                    return
                time.sleep(0.1)

    def _stop_session(self, daemon: Daemon, container: str, ended: threading.Event) -> None:
        """§5.10 in a session: SIGTERM, then SIGKILL, to every process but PID 1 (the session shell,
        which then ends the stage); `docker stop` when the stage still has not ended."""
        timeouts = self.kill_timeouts
        for script, wait in ((_TERM_ALL, timeouts.graceful), (_KILL_ALL, timeouts.force)):
            with contextlib.suppress(DockerDaemonError):
                daemon.exec_detached(container, ["sh", "-c", script])
            if ended.wait(wait):
                return
        with contextlib.suppress(DockerDaemonError):
            daemon.stop(container, 0)
        if not self._wait_stopped(daemon, container, 5):
            with contextlib.suppress(DockerDaemonError):
                daemon.kill(container)

    def _stop(self, daemon: Daemon, container: str) -> None:
        """§5.10: SIGTERM every process but PID 1, wait; `docker stop` (SIGTERM, then SIGKILL); wait."""
        timeouts = self.kill_timeouts
        # With a shared PID namespace (pid_mode) `kill -1` would reach processes outside the job.
        if not self._cfg.pid_mode:
            with contextlib.suppress(DockerDaemonError):
                daemon.exec_detached(container, ["sh", "-c", _TERM_ALL])
            if self._wait_stopped(daemon, container, timeouts.graceful):
                return
        with contextlib.suppress(DockerDaemonError):
            daemon.stop(container, timeouts.force)
        if self._wait_stopped(daemon, container, timeouts.force + 5):
            return
        with contextlib.suppress(DockerDaemonError):
            daemon.kill(container)

    @staticmethod
    def _wait_stopped(daemon: Daemon, container: str, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while True:
            try:
                state = daemon.inspect_container(container).get("State") or {}
            except NotFound:
                return True
            except DockerDaemonError:
                return False
            if not state.get("Running"):
                return True
            if time.monotonic() >= end:
                return False
            time.sleep(0.1)

    # -- end ----------------------------------------------------------------------------------

    def finish(self, error: BuildError | None) -> None:
        pass

    def cleanup(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        res, self._resources = self._resources, None
        if res is not None:
            # Removal runs after the job's final status (see DockerExecutorProvider.remove_later).
            self._provider.remove_later(res)
        self.build_container = self.helper_container = None
        self._helper_started = False


def _glob(pattern: str, name: str) -> bool:
    from runnerfleet.executors.docker.images import glob_match

    return glob_match(pattern, name)
