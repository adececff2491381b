"""Stage script generators for bash/sh: one function per stage of the job pipeline (engine §5.2-5.9)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit, urlunsplit

from runnerfleet.job.variables import JobVariables, Variable
from runnerfleet.shells import artifact_stages, cache_stages
from runnerfleet.shells.build_info import BuildInfo
from runnerfleet.shells.errors import ShellScriptError
from runnerfleet.shells.writer import ShellWriter
from runnerfleet.version import COMPATIBLE_GITLAB_RUNNER_VERSION, go_arch, go_platform

SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")  # \Z: `$` would accept a trailing newline
GITLAB_ENV_FILE = "gitlab_runner_env"
EXT_GIT_CONFIG = ".gitlab-runner.ext.conf"
GIT_TEMPLATE_DIR = "git-template"


def _tmp(build: BuildInfo, name: str) -> str:
    return f"{build.tmp_dir.rstrip('/')}/{name}"


def _lines(script: str) -> list[str]:
    """A config.toml script (one string, possibly multi-line) as separate command lines."""
    return [line for line in script.splitlines() if line.strip()]


def _write_exports(w: ShellWriter, build: BuildInfo, variables: JobVariables) -> None:
    """Export every variable (later wins), materialise file variables, then load GITLAB_ENV."""
    tmp = build.tmp_dir
    w.mkdir(tmp)
    for variable in variables:
        if not SHELL_NAME.match(variable.key):
            continue  # not expressible as a shell variable; gitlab-runner cannot export it either
        if variable.file:
            path = _tmp(build, variable.key)
            w.write_file(path, variable.value)
            w.export(variable.key, path)
        else:
            w.export(variable.key, variable.value)
    w.export("GITLAB_ENV", _tmp(build, GITLAB_ENV_FILE))
    w.source_env(_tmp(build, GITLAB_ENV_FILE))


def job_variables(build: BuildInfo) -> JobVariables:
    """The variables a stage exports: expanded, plus CI_JOB_STATUS for after_script."""
    variables = build.expanded()
    if build.job_status == "running":
        return variables
    # after_script sees the outcome of the user steps (a copy: the expanded list is shared).
    variables = JobVariables(variables)
    variables.append(Variable("CI_JOB_STATUS", build.job_status, public=True))
    return variables


def _commands(w: ShellWriter, commands: Sequence[str]) -> None:
    for command in commands:
        w.user_command(command)


def debug_trace(build: BuildInfo) -> bool:
    """CI_DEBUG_TRACE is on (and not disabled by the runner): scripts run with xtrace."""
    return build.flag("CI_DEBUG_TRACE", False) and not build.debug_trace_disabled


class _Stage:
    """Wraps a generator body with optional section markers and the final script wrapper."""

    def __init__(self, name: str, build: BuildInfo, shell: str) -> None:
        self.name = name
        self.build = build
        self.w = ShellWriter(shell)

    def __enter__(self) -> ShellWriter:
        if self.build.trace_sections:
            self.w.section_start(self.name)
        return self.w

    def __exit__(self, *exc: object) -> None:
        if self.build.trace_sections and exc[0] is None:
            self.w.section_end(self.name)

    def script(self) -> str:
        return self.w.finish(trace=debug_trace(self.build), pipefail_probe=not self.build.exact_shell)


# -- prepare ---------------------------------------------------------------------------------------
def prepare_script(build: BuildInfo, shell: str = "bash") -> str:
    """Prints where the job runs; nothing is exported yet.

    The stage runs a login shell even when it prints a known host name: its real job is to show
    that the shell and its profile work (a broken profile fails here, with the profile hint).
    """
    stage = _Stage("prepare_script", build, shell)
    with stage as w:
        if build.runner_host:
            w.line(f'printf \'%s\\n\' "Running on $(hostname) via {_double_quoted(build.runner_host)}..."')
        elif build.local_hostname:
            # Same host: `$(hostname)` would print this very name, at the cost of a process.
            w.echo(f"Running on {build.local_hostname}...")
        else:
            w.line('printf \'%s\\n\' "Running on $(hostname)..."')
    return stage.script()


def _double_quoted(text: str) -> str:
    """`text` for use inside a double-quoted shell string (no expansion of its own `$`, `` ` ``)."""
    for special in ("\\", '"', "$", "`"):
        text = text.replace(special, "\\" + special)
    return text


# -- sources ---------------------------------------------------------------------------------------
def _strip_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def remote_urls(build: BuildInfo) -> tuple[str, str]:
    """(URL with credentials, URL stored in .git/config). `clone_url` replaces scheme/host/root."""
    url = build.payload.git_info.repo_url
    if build.clone_url:
        base = urlsplit(build.clone_url.rstrip("/"))
        host = base.netloc.rpartition("@")[2]
        project = build.variables.get("CI_PROJECT_PATH") or urlsplit(url).path.strip("/").removesuffix(".git")
        netloc = f"gitlab-ci-token:{build.payload.token}@{host}"
        url = urlunsplit((base.scheme, netloc, f"{base.path}/{project}.git", "", ""))
    return url, _strip_credentials(url)


def _host_base(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def _setup_git_config(w: ShellWriter, build: BuildInfo, with_creds: str, without_creds: str) -> None:
    """Template dir and the external config that alone holds the credentials (18.6+ layout)."""
    template = _tmp(build, GIT_TEMPLATE_DIR)
    ext = _tmp(build, EXT_GIT_CONFIG)
    w.rm_dir(template)
    w.mkdir(template)
    # The files `git config -f` would write, written by the shell's printf: seven git
    # processes fewer per job.
    w.write_text(f"{template}/config", git_config_text([
        ("init", None, "defaultBranch", "none"),
        ("fetch", None, "recurseSubmodules", "false"),
        ("credential", None, "interactive", "never"),
        ("gc", None, "autoDetach", "false"),
        ("include", None, "path", ext),
    ]))
    entries: list[tuple[str, str | None, str, str]] = []
    if with_creds != without_creds:
        entries.append(("url", with_creds, "insteadOf", without_creds))
        entries.append(("url", _host_base(with_creds), "insteadOf", _host_base(without_creds)))
    w.write_text(ext, git_config_text(entries), private=True)


def git_config_text(entries: list[tuple[str, str | None, str, str]]) -> str:
    """A git config file holding `(section, subsection, key, value)` entries, in git's syntax
    (a subsection repeated in a row shares its header, as `git config --add` leaves it)."""
    lines: list[str] = []
    header = None
    for section, subsection, key, value in entries:
        name = section if subsection is None else f'{section} "{_config_escape(subsection)}"'
        if name != header:
            lines.append(f"[{name}]")
            header = name
        lines.append(f"\t{key} = {_config_value(value)}")
    return "".join(line + "\n" for line in lines)


def _config_escape(text: str) -> str:
    """A subsection name inside its double quotes: backslash and quote escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _config_value(text: str) -> str:
    """A value as `git config` writes it: quoted only when it starts or ends with a space or
    holds `;` or `#`; backslash, quote, newline and tab escaped."""
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\t", "\\t"))
    if text.startswith(" ") or text.endswith(" ") or ";" in text or "#" in text:
        return f'"{escaped}"'
    return escaped


def _git_cleanup(w: ShellWriter, build: BuildInfo) -> None:
    """Remove stale locks and hooks a killed earlier job may have left in the repository."""
    git = f"{build.project_dir.rstrip('/')}/.git"
    for name in ("index.lock", "shallow.lock", "HEAD.lock", "config.lock", "hooks/post-checkout"):
        w.rm_file(f"{git}/{name}")
    w.if_dir(f"{git}/refs")
    w.line(f"find {w.q(git + '/refs')} -type f -name '*.lock' -exec rm -f {{}} +")
    w.end_if()
    w.if_dir(f"{git}/modules")
    w.line(f"find {w.q(git + '/modules')} -type f \\( -name '*.lock' -o -path '*/hooks/post-checkout' \\) "
           "-exec rm -f {} +")
    w.end_if()


def _fetch(w: ShellWriter, build: BuildInfo, strategy: str) -> None:
    git = build.payload.git_info
    with_creds, without_creds = remote_urls(build)
    _git_cleanup(w, build)
    _setup_git_config(w, build, with_creds, without_creds)
    if strategy == "clone":
        w.rm_dir(build.project_dir)
    if git.depth > 0:
        w.notice(f"Fetching changes with git depth set to {git.depth}...")
    else:
        w.notice("Fetching changes...")
    init = ["git", "init", build.project_dir, "--template", _tmp(build, GIT_TEMPLATE_DIR)]
    if git.repo_object_format == "sha256":
        init += ["--object-format", "sha256"]
    # Existing repositories were created from an older template: point them at this job's
    # config (a new one has it from the template).
    git_dir = f"{build.project_dir.rstrip('/')}/.git"
    w.line(f"if [ -d {w.q(git_dir)} ]; then __rf_existing=1; else __rf_existing=; fi")
    w.command(*init)
    w.cd(build.project_dir)
    w.if_cmd('[ -n "$__rf_existing" ]')
    w.command("git", "config", "--replace-all", "include.path", _tmp(build, EXT_GIT_CONFIG))
    w.end_if()
    # `remote add` fails where origin exists, then `set-url`; a repository that existed mostly
    # has origin, so it tries `set-url` first (one git process instead of two, same output).
    origin = w.q(without_creds)
    w.if_cmd(f'[ -n "$__rf_existing" ] && git remote set-url origin {origin} 2>/dev/null')
    w.line(":")
    w.line(f"elif git remote add origin {origin} 2>/dev/null; then")
    w.notice("Created fresh repository.")
    w.else_()
    w.command("git", "remote", "set-url", "origin", without_creds)
    w.end_if()
    platform = f"{go_platform()}/{go_arch()}"
    user_agent = f"http.userAgent=gitlab-runner {COMPATIBLE_GITLAB_RUNNER_VERSION} {platform}"
    base = ["git", "-c", user_agent, "fetch", "origin", "--no-recurse-submodules", *git.refspecs]
    if git.depth > 0:
        base += ["--depth", str(git.depth)]
    extra = build.setting("GIT_FETCH_EXTRA_FLAGS", "--prune --quiet").split()
    if git.depth > 0:
        w.command(*base, *extra)
    else:
        w.if_file(f"{build.project_dir.rstrip('/')}/.git/shallow")
        w.command(*base, "--unshallow", *extra)
        w.else_()
        w.command(*base, *extra)
        w.end_if()


def _lfs(w: ShellWriter, prefix: str = "") -> None:
    w.if_cmd("git lfs version >/dev/null 2>&1")
    w.line(f"{prefix}git lfs pull")
    w.end_if()


def _checkout(w: ShellWriter, build: BuildInfo) -> None:
    git = build.payload.git_info
    if not build.flag("GIT_CHECKOUT", True):
        w.notice("Skipping Git checkout")
        return
    w.notice(f"Checking out {git.sha[:8]} as detached HEAD (ref is {git.ref})...")
    w.command("git", "-c", "submodule.recurse=false", "checkout", "-f", "-q", git.sha)
    clean = build.setting("GIT_CLEAN_FLAGS", "-ffdx")
    if clean != "none":
        w.command("git", "clean", *clean.split())
    _lfs(w)


def _submodules(w: ShellWriter, build: BuildInfo) -> None:
    strategy = build.setting("GIT_SUBMODULE_STRATEGY", "none")
    if strategy == "none":
        w.notice("Skipping Git submodules setup")
        return
    if strategy not in ("normal", "recursive"):
        raise ShellScriptError(
            f"GIT_SUBMODULE_STRATEGY: unknown value {strategy!r}: use none, normal or recursive"
        )
    recursive = ["--recursive"] if strategy == "recursive" else []
    w.notice("Updating/initializing submodules recursively..." if recursive
             else "Updating/initializing submodules...")
    paths = build.setting("GIT_SUBMODULE_PATHS").split()
    tail = ["--", *paths] if paths else []
    depth = build.setting("GIT_SUBMODULE_DEPTH") or str(build.payload.git_info.depth)
    ext = _tmp(build, EXT_GIT_CONFIG)
    w.command("git", "submodule", "init", *tail)
    w.command("git", "submodule", "sync", *recursive, *tail)
    w.command("git", "submodule", "foreach", *recursive, "git clean -ffdx")
    w.command("git", "submodule", "foreach", *recursive, "git reset --hard")
    update = ["git", "-c", f"include.path={ext}", "submodule", "update", "--init", *recursive]
    if depth.isdigit() and int(depth) > 0:
        update += ["--depth", depth]
    update += build.setting("GIT_SUBMODULE_UPDATE_FLAGS").split() + tail
    w.if_cmd(" ".join(w.q(a) for a in update))
    w.line(":")
    w.else_()
    w.warning("Updating submodules failed. Retrying...")
    w.command("git", "submodule", "sync", *recursive, *tail)
    w.command(*update)
    w.end_if()
    w.command("git", "submodule", "foreach", *recursive, f"git config include.path {w.q(ext)}")
    w.if_cmd("git lfs version >/dev/null 2>&1")
    w.command("git", "submodule", "foreach", *recursive, "git lfs pull")
    w.end_if()


def get_sources(build: BuildInfo, shell: str = "bash") -> str:
    """Fetch/clone the repository into the project dir and check out the job's commit (§5.5)."""
    stage = _Stage("get_sources", build, shell)
    # An invalid GIT_STRATEGY was already warned about with the job's other setting errors.
    strategy, _ = build.git_strategy()
    with stage as w:
        _write_exports(w, build, job_variables(build))
        w.export("GIT_TERMINAL_PROMPT", "0")
        w.export("GCM_INTERACTIVE", "Never")
        hooks = strategy in ("fetch", "clone")
        if hooks:
            _commands(w, _lines(build.pre_get_sources_script))
            _commands(w, build.payload.hook_script("pre_get_sources_script"))
        if "GIT_LFS_SKIP_SMUDGE" not in build.variables:
            w.export("GIT_LFS_SKIP_SMUDGE", "1")
        if strategy == "none":
            w.notice("Skipping Git repository setup")
            w.mkdir(build.project_dir)
        elif strategy == "empty":
            w.notice("Skipping Git repository setup and creating an empty build directory")
            w.rm_dir(build.project_dir)
            w.mkdir(build.project_dir)
        else:
            _fetch(w, build, strategy)
            _checkout(w, build)
            _submodules(w, build)
            _commands(w, build.payload.hook_script("post_get_sources_script"))
            _commands(w, _lines(build.post_get_sources_script))
    return stage.script()


def clear_worktree(build: BuildInfo, shell: str = "bash") -> str:
    """Before a get_sources retry: drop every tracked and untracked file of the project dir."""
    stage = _Stage("clear_worktree", build, shell)
    with stage as w:
        w.if_dir(f"{build.project_dir.rstrip('/')}/.git")
        w.cd(build.project_dir)
        w.command("git", "rm", "-rf", "--ignore-unmatch", "--quiet", ".")
        w.command("git", "clean", "-ffdx", "-q")
        w.end_if()
    return stage.script()


# -- user steps ------------------------------------------------------------------------------------
def step(build: BuildInfo, name: str, shell: str = "bash") -> str | None:
    """`step_<name>`: pre_build_script, the step's lines, post_build_script; None if no such step."""
    job_step = build.payload.step(name)
    if job_step is None or name == "after_script":
        return None
    stage = _Stage(f"step_{name}", build, shell)
    with stage as w:
        _write_exports(w, build, job_variables(build))
        w.cd(build.project_dir)
        _commands(w, _lines(build.pre_build_script))
        _commands(w, job_step.script)
        _commands(w, _lines(build.post_build_script))
    return stage.script()


def after_script(build: BuildInfo, shell: str = "bash") -> str | None:
    """The after_script lines in a fresh shell, with CI_JOB_STATUS = `build.job_status`."""
    job_step = build.payload.step("after_script")
    if job_step is None or not job_step.script:
        return None
    stage = _Stage("after_script", build, shell)
    with stage as w:
        _write_exports(w, build, job_variables(build))
        w.cd(build.project_dir)
        _commands(w, job_step.script)
    return stage.script()


def cleanup_file_variables(build: BuildInfo, shell: str = "bash") -> str:
    """Remove file variables, GITLAB_ENV, the git template and the credential-holding git config."""
    stage = _Stage("cleanup_file_variables", build, shell)
    with stage as w:
        for variable in build.variables:
            if variable.file and SHELL_NAME.match(variable.key):
                w.rm_file(_tmp(build, variable.key))
        w.rm_file(_tmp(build, GITLAB_ENV_FILE))
        w.rm_file(_tmp(build, EXT_GIT_CONFIG))
        w.rm_dir(_tmp(build, GIT_TEMPLATE_DIR))
    return stage.script()


# -- cache and artifacts (engine spec §5.7, §5.8) ----------------------------------------------------
def _transfer_stage(name: str, build: BuildInfo, shell: str,
                    write: Callable[[ShellWriter], bool]) -> str | None:
    """Exports, `cd` to the project dir, then the body; None when the body had nothing to do."""
    # The body first: most jobs have no cache or artifacts, and then no exports are written.
    body = ShellWriter(shell)
    if not write(body):
        return None
    stage = _Stage(name, build, shell)
    with stage as w:
        _write_exports(w, build, job_variables(build))
        w.cd(build.project_dir)
        w.lines.extend(body.lines)
    return stage.script()


def restore_cache(build: BuildInfo, shell: str = "bash") -> str | None:
    """cache-extractor for each cache entry, fallback keys after a failure; never fails the job."""
    return _transfer_stage("restore_cache", build, shell, lambda w: cache_stages.write_restore(w, build))


def download_artifacts(build: BuildInfo, shell: str = "bash") -> str | None:
    """artifacts-downloader for each dependency with an artifacts file."""
    return _transfer_stage("download_artifacts", build, shell,
                           lambda w: artifact_stages.write_download(w, build))


def archive_cache(build: BuildInfo, shell: str = "bash", *, on_success: bool = True) -> str | None:
    """cache-archiver for each cache entry whose `when` matches the job's outcome."""
    name = "archive_cache" if on_success else "archive_cache_on_failure"
    return _transfer_stage(name, build, shell, lambda w: cache_stages.write_archive(w, build, on_success))


def upload_artifacts(build: BuildInfo, shell: str = "bash", *, on_success: bool = True) -> str | None:
    """artifacts-uploader for each artifact whose `when` matches the job's outcome."""
    name = "upload_artifacts_on_success" if on_success else "upload_artifacts_on_failure"
    return _transfer_stage(name, build, shell,
                           lambda w: artifact_stages.write_upload(w, build, on_success))


_GENERATORS: dict[str, Callable[[BuildInfo, str], str | None]] = {
    "prepare_script": prepare_script,
    "get_sources": get_sources,
    "clear_worktree": clear_worktree,
    "restore_cache": restore_cache,
    "download_artifacts": download_artifacts,
    "after_script": after_script,
    "archive_cache": archive_cache,
    "archive_cache_on_failure": lambda build, shell: archive_cache(build, shell, on_success=False),
    "upload_artifacts_on_success": upload_artifacts,
    "upload_artifacts_on_failure": lambda build, shell: upload_artifacts(build, shell, on_success=False),
    "cleanup_file_variables": cleanup_file_variables,
}


def generate(stage: str, build: BuildInfo, shell: str = "bash") -> str | None:
    """The script for `stage` (`step_<name>` for user steps), or None when the stage has nothing to do.

    Raises ShellScriptError when a job setting makes the script impossible, ValueError for an
    unknown stage or shell.
    """
    if shell not in ("bash", "sh"):
        raise ValueError(f"unsupported shell {shell!r}: expected bash or sh")
    if stage.startswith("step_"):
        return step(build, stage.removeprefix("step_"), shell)
    generator = _GENERATORS.get(stage)
    if generator is None:
        raise ValueError(f"unknown stage {stage!r}")
    return generator(build, shell)
