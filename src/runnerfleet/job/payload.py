"""The 201 body of `POST /jobs/request` decoded into typed, validated dataclasses.

Unknown keys are ignored (GitLab adds fields over time); missing optional keys take the values
gitlab-runner's Go decoder would give them (zero values). A wrong type raises JobPayloadError
naming the field path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runnerfleet.job.errors import JobPayloadError
from runnerfleet.job.variables import JobVariables, Variable

_MISSING = object()


def _kind(value: Any) -> str:
    """How a JSON value is named in an error line (the value itself for scalars, never secrets)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class _Obj:
    """Typed access to one JSON object, producing field-path errors."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise JobPayloadError(path, f"expected an object, got {_kind(data)}")
        self.data: dict[str, Any] = data
        self.path = path

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _raw(self, key: str, required: bool) -> Any:
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            if required:
                raise JobPayloadError("", f"{self.sub(key)} is missing")
            return None
        return value

    def string(self, key: str, *, required: bool = False) -> str:
        value = self._raw(key, required)
        if value is None:
            if required:
                raise JobPayloadError(self.sub(key), "expected a string, got null")
            return ""
        if not isinstance(value, str):
            raise JobPayloadError(self.sub(key), f"expected a string, got {_kind(value)}")
        return value

    def opt_str(self, key: str) -> str | None:
        value = self._raw(key, False)
        if value is None:
            return None
        if not isinstance(value, str):
            raise JobPayloadError(self.sub(key), f"expected a string, got {_kind(value)}")
        return value

    def integer(self, key: str, *, required: bool = False) -> int:
        value = self._raw(key, required)
        if value is None:
            if required:
                raise JobPayloadError(self.sub(key), "expected an integer, got null")
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            raise JobPayloadError(self.sub(key), f"expected an integer, got {_kind(value)}")
        return value

    def number(self, key: str) -> float:
        value = self._raw(key, False)
        if value is None:
            return 0.0
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise JobPayloadError(self.sub(key), f"expected a number, got {_kind(value)}")
        return float(value)

    def flag(self, key: str) -> bool:
        value = self._raw(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise JobPayloadError(self.sub(key), f"expected true or false, got {_kind(value)}")
        return value

    def opt_flag(self, key: str) -> bool | None:
        value = self._raw(key, False)
        if value is None:
            return None
        return self.flag(key)

    def str_list(self, key: str) -> list[str]:
        value = self._raw(key, False)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise JobPayloadError(self.sub(key), f"expected a list of strings, got {_kind(value)}")
        return list(value)

    def obj(self, key: str, *, required: bool = False) -> _Obj:
        value = self._raw(key, required)
        return _Obj({} if value is None else value, self.sub(key))

    def opt_obj(self, key: str) -> _Obj | None:
        value = self._raw(key, False)
        return None if value is None else _Obj(value, self.sub(key))

    def objs(self, key: str) -> list[_Obj]:
        value = self._raw(key, False)
        if value is None:
            return []
        if not isinstance(value, list):
            raise JobPayloadError(self.sub(key), f"expected a list, got {_kind(value)}")
        return [_Obj(item, f"{self.sub(key)}[{i}]") for i, item in enumerate(value)]

    def raw_value(self, key: str) -> Any:
        return self._raw(key, False)


@dataclass(frozen=True)
class JobInfo:
    """`job_info`: names and ids used for log lines and metrics."""

    id: int = 0
    name: str = ""
    stage: str = ""
    project_id: int = 0
    project_name: str = ""
    project_full_path: str = ""
    namespace_id: int = 0
    root_namespace_id: int = 0
    organization_id: int = 0
    instance_id: str = ""
    instance_uuid: str = ""
    user_id: int = 0
    scoped_user_id: int | None = None
    time_in_queue_seconds: float = 0.0
    project_jobs_running_on_instance_runners_count: str = ""
    queue_size: int = 0
    queue_depth: int = 0

    @classmethod
    def parse(cls, o: _Obj) -> JobInfo:
        scoped = o.raw_value("scoped_user_id")
        scoped_user_id = None if scoped is None else o.integer("scoped_user_id")
        return cls(
            id=o.integer("id"),
            name=o.string("name"),
            stage=o.string("stage"),
            project_id=o.integer("project_id"),
            project_name=o.string("project_name"),
            project_full_path=o.string("project_full_path"),
            namespace_id=o.integer("namespace_id"),
            root_namespace_id=o.integer("root_namespace_id"),
            organization_id=o.integer("organization_id"),
            instance_id=o.string("instance_id"),
            instance_uuid=o.string("instance_uuid"),
            user_id=o.integer("user_id"),
            scoped_user_id=scoped_user_id,
            time_in_queue_seconds=o.number("time_in_queue_seconds"),
            project_jobs_running_on_instance_runners_count=o.string(
                "project_jobs_running_on_instance_runners_count"
            ),
            queue_size=o.integer("queue_size"),
            queue_depth=o.integer("queue_depth"),
        )


@dataclass(frozen=True)
class GitInfo:
    """`git_info`: what to fetch and check out."""

    repo_url: str = ""
    repo_object_format: str = ""
    ref: str = ""
    sha: str = ""
    before_sha: str = ""
    ref_type: str = ""
    refspecs: list[str] = field(default_factory=list)
    depth: int = 0
    protected: bool | None = None

    @classmethod
    def parse(cls, o: _Obj) -> GitInfo:
        ref_type = o.string("ref_type")
        if ref_type not in ("", "branch", "tag"):
            raise JobPayloadError(o.sub("ref_type"), f"expected branch or tag, got {ref_type!r}")
        depth = o.integer("depth")
        if depth < 0:
            raise JobPayloadError(o.sub("depth"), f"expected 0 or more, got {depth}")
        return cls(
            repo_url=o.string("repo_url"),
            repo_object_format=o.string("repo_object_format"),
            ref=o.string("ref"),
            sha=o.string("sha"),
            before_sha=o.string("before_sha"),
            ref_type=ref_type,
            refspecs=o.str_list("refspecs"),
            depth=depth,
            protected=o.opt_flag("protected"),
        )


@dataclass(frozen=True)
class RunnerInfo:
    """`runner_info`: the job timeout in seconds and the session URL GitLab stored."""

    timeout: int = 0
    runner_session_url: str | None = None
    uuid: str = ""

    @classmethod
    def parse(cls, o: _Obj) -> RunnerInfo:
        return cls(timeout=o.integer("timeout"), runner_session_url=o.opt_str("runner_session_url"),
                   uuid=o.string("uuid"))


_STEP_WHEN = ("on_success", "on_failure", "always")


@dataclass(frozen=True)
class Step:
    """One entry of `steps`: `script`, `after_script` or `release`."""

    name: str
    script: list[str] = field(default_factory=list)
    timeout: int = 0
    when: str = "on_success"
    allow_failure: bool = False

    @classmethod
    def parse(cls, o: _Obj) -> Step:
        when = o.string("when") or "on_success"
        if when not in _STEP_WHEN:
            raise JobPayloadError(o.sub("when"), f"expected on_success, on_failure or always, got {when!r}")
        name = o.string("name", required=True)
        if not name:
            raise JobPayloadError(o.sub("name"), "must not be empty")
        return cls(name=name, script=o.str_list("script"), timeout=o.integer("timeout"), when=when,
                   allow_failure=o.flag("allow_failure"))


@dataclass(frozen=True)
class Hook:
    """One entry of `hooks` (`pre_get_sources_script` / `post_get_sources_script`)."""

    name: str
    script: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, o: _Obj) -> Hook:
        return cls(name=o.string("name", required=True), script=o.str_list("script"))


@dataclass(frozen=True)
class Port:
    number: int
    protocol: str = ""
    name: str = ""

    @classmethod
    def parse(cls, o: _Obj) -> Port:
        return cls(number=o.integer("number"), protocol=o.string("protocol"), name=o.string("name"))


_SUPPORTED_EXECUTOR_OPTS = {"docker": ("platform", "user"), "kubernetes": ("user",)}


def _executor_opts(o: _Obj | None) -> dict[str, dict[str, str]]:
    """`executor_opts`; unknown keys are a payload error, as in gitlab-runner."""
    if o is None:
        return {}
    result: dict[str, dict[str, str]] = {}
    for executor, opts in o.data.items():
        if executor not in _SUPPORTED_EXECUTOR_OPTS:
            raise JobPayloadError(o.sub(executor), "unsupported executor option")
        sub = _Obj({} if opts is None else opts, o.sub(executor))
        values: dict[str, str] = {}
        for key, value in sub.data.items():
            if key not in _SUPPORTED_EXECUTOR_OPTS[executor]:
                raise JobPayloadError(sub.sub(key), "unsupported executor option")
            if value is None:
                continue
            # `user` may be sent as a string or an integer.
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise JobPayloadError(sub.sub(key), f"expected a string, got {_kind(value)}")
            values[key] = str(value)
        result[executor] = values
    return result


@dataclass(frozen=True)
class Image:
    """`image` or one of `services`."""

    name: str
    entrypoint: list[str] = field(default_factory=list)
    ports: list[Port] = field(default_factory=list)
    executor_opts: dict[str, dict[str, str]] = field(default_factory=dict)
    pull_policy: list[str] = field(default_factory=list)
    alias: str = ""
    command: list[str] = field(default_factory=list)
    variables: JobVariables = field(default_factory=JobVariables)

    @classmethod
    def parse(cls, o: _Obj) -> Image:
        pull_policy = o.str_list("pull_policy")
        for i, policy in enumerate(pull_policy):
            if policy not in ("always", "never", "if-not-present"):
                raise JobPayloadError(f"{o.sub('pull_policy')}[{i}]",
                                      f"expected always, never or if-not-present, got {policy!r}")
        return cls(
            name=o.string("name"),
            entrypoint=o.str_list("entrypoint"),
            ports=[Port.parse(p) for p in o.objs("ports")],
            executor_opts=_executor_opts(o.opt_obj("executor_opts")),
            pull_policy=pull_policy,
            alias=o.string("alias"),
            command=o.str_list("command"),
            variables=_variables(o, "variables"),
        )

    @property
    def aliases(self) -> list[str]:
        """`alias` split on commas and spaces (several aliases per service)."""
        return [a for a in self.alias.replace(",", " ").split() if a]


@dataclass(frozen=True)
class Artifact:
    """One `artifacts` entry (an archive or a report)."""

    name: str = ""
    untracked: bool = False
    paths: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    when: str = "on_success"
    expire_in: str = ""
    artifact_type: str = ""
    artifact_format: str = ""

    @classmethod
    def parse(cls, o: _Obj) -> Artifact:
        when = o.string("when") or "on_success"
        if when not in _STEP_WHEN:
            raise JobPayloadError(o.sub("when"), f"expected on_success, on_failure or always, got {when!r}")
        return cls(name=o.string("name"), untracked=o.flag("untracked"), paths=o.str_list("paths"),
                   exclude=o.str_list("exclude"), when=when, expire_in=o.string("expire_in"),
                   artifact_type=o.string("artifact_type"), artifact_format=o.string("artifact_format"))


@dataclass(frozen=True)
class Cache:
    """One `cache` entry."""

    key: str = ""
    untracked: bool = False
    policy: str = "pull-push"
    paths: list[str] = field(default_factory=list)
    when: str = "on_success"
    fallback_keys: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, o: _Obj) -> Cache:
        # `policy` may hold variables (expanded by the cache stage), so it is not checked here.
        return cls(key=o.string("key"), untracked=o.flag("untracked"),
                   policy=o.string("policy") or "pull-push",
                   paths=o.str_list("paths"), when=o.string("when") or "on_success",
                   fallback_keys=o.str_list("fallback_keys"))


@dataclass(frozen=True)
class Credentials:
    """One `credentials` entry (registry auth)."""

    type: str
    url: str = ""
    username: str = ""
    password: str = ""

    @classmethod
    def parse(cls, o: _Obj) -> Credentials:
        return cls(type=o.string("type"), url=o.string("url"), username=o.string("username"),
                   password=o.string("password"))


@dataclass(frozen=True)
class ArtifactsFile:
    filename: str = ""
    size: int = 0


@dataclass(frozen=True)
class Dependency:
    """One `dependencies` entry: a job whose artifacts this job downloads."""

    id: int
    name: str = ""
    token: str = ""
    artifacts_file: ArtifactsFile = field(default_factory=ArtifactsFile)

    @classmethod
    def parse(cls, o: _Obj) -> Dependency:
        af = o.obj("artifacts_file")
        return cls(id=o.integer("id", required=True), name=o.string("name"), token=o.string("token"),
                   artifacts_file=ArtifactsFile(filename=af.string("filename"), size=af.integer("size")))


@dataclass(frozen=True)
class Features:
    """`features`: what GitLab understands (trace sections, failure reasons, extra mask prefixes)."""

    trace_sections: bool = False
    failure_reasons: list[str] = field(default_factory=list)
    token_mask_prefixes: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, o: _Obj) -> Features:
        return cls(trace_sections=o.flag("trace_sections"), failure_reasons=o.str_list("failure_reasons"),
                   token_mask_prefixes=o.str_list("token_mask_prefixes"))


def _well_formed_variable(item: Any) -> Variable | None:
    """The variable of a well-formed entry (nearly all of them), else None.

    A job carries ~60 variables: this takes each without a checked accessor per field; any
    entry it does not accept goes through the checked path, which names the bad field.
    """
    if not isinstance(item, dict):
        return None
    key, value = item.get("key"), item.get("value")
    if not isinstance(key, str) or not (value is None or isinstance(value, str)):
        return None
    public, masked, file, raw = (item.get("public"), item.get("masked"), item.get("file"), item.get("raw"))
    for flag in (public, masked, file, raw):
        if flag is not None and not isinstance(flag, bool):
            return None
    return Variable(key, value or "", public is True, masked is True, file is True, raw is True)


def _variables(o: _Obj, key: str) -> JobVariables:
    items = o.raw_value(key)
    if isinstance(items, list):
        fast = [_well_formed_variable(item) for item in items]
        if all(v is not None for v in fast):
            return JobVariables(v for v in fast if v is not None)
    result = JobVariables()
    for v in o.objs(key):
        result.append(
            Variable(key=v.string("key", required=True), value=v.string("value"), public=v.flag("public"),
                     masked=v.flag("masked"), file=v.flag("file"), raw=v.flag("raw"))
        )
    return result


@dataclass(frozen=True)
class JobPayload:
    """A job as GitLab hands it to the runner (`POST /jobs/request` 201 body)."""

    id: int
    token: str
    allow_git_fetch: bool = False
    job_info: JobInfo = field(default_factory=JobInfo)
    git_info: GitInfo = field(default_factory=GitInfo)
    runner_info: RunnerInfo = field(default_factory=RunnerInfo)
    variables: JobVariables = field(default_factory=JobVariables)
    steps: list[Step] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)
    image: Image | None = None
    services: list[Image] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    cache: list[Cache] = field(default_factory=list)
    credentials: list[Credentials] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    features: Features = field(default_factory=Features)
    secrets: dict[str, Any] = field(default_factory=dict)
    run: str = ""

    @classmethod
    def from_json(cls, data: Any) -> JobPayload:
        """Decode and validate a parsed JSON body; raises JobPayloadError naming the bad field."""
        o = _Obj(data, "")
        if "id" not in o.data:
            raise JobPayloadError("", "id is missing")
        if "token" not in o.data:
            raise JobPayloadError("", "token is missing")
        job_id = o.integer("id", required=True)
        token = o.string("token", required=True)
        if not token:
            raise JobPayloadError("token", "must not be empty")
        secrets = o.opt_obj("secrets")
        image = o.opt_obj("image")
        return cls(
            id=job_id,
            token=token,
            allow_git_fetch=o.flag("allow_git_fetch"),
            job_info=JobInfo.parse(o.obj("job_info")),
            git_info=GitInfo.parse(o.obj("git_info")),
            runner_info=RunnerInfo.parse(o.obj("runner_info")),
            variables=_variables(o, "variables"),
            steps=[Step.parse(s) for s in o.objs("steps")],
            hooks=[Hook.parse(h) for h in o.objs("hooks")],
            image=None if image is None else Image.parse(image),
            services=[Image.parse(s) for s in o.objs("services")],
            artifacts=[Artifact.parse(a) for a in o.objs("artifacts")],
            cache=[Cache.parse(c) for c in o.objs("cache")],
            credentials=[Credentials.parse(c) for c in o.objs("credentials")],
            dependencies=[Dependency.parse(d) for d in o.objs("dependencies")],
            features=Features.parse(o.obj("features")),
            secrets={} if secrets is None else dict(secrets.data),
            run=o.string("run"),
        )

    def step(self, name: str) -> Step | None:
        """The step called `name` (`script`, `after_script`, `release`), if any."""
        return next((s for s in self.steps if s.name == name), None)

    def hook_script(self, name: str) -> list[str]:
        """The script lines of the hook called `name` (empty when absent)."""
        return [line for h in self.hooks if h.name == name for line in h.script]
