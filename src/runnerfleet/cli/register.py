"""`runnerfleet register`: create or verify a runner in GitLab and append it to config.toml."""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import tomlkit

from runnerfleet.cli.context import CONFIG_FLAG, client_for, load_config, system_id
from runnerfleet.cli.flags import Flag, add_flags, nest, resolve
from runnerfleet.cli.prompt import Prompter
from runnerfleet.config import ConfigFile, runner_flag_specs, shorten_token
from runnerfleet.errors import ConfigError, UsageError
from runnerfleet.gitlab import GitLabClient, RunnerRegistration, runner_info
from runnerfleet.log import fields

log = logging.getLogger("runnerfleet.cli")

# Executors this engine can run; gitlab-runner's others are refused at registration, not at job time.
SUPPORTED_EXECUTORS = ("shell", "docker", "ssh", "virtualbox", "parallels")
# Which config sections each executor keeps; the others given on the command line are dropped.
EXECUTOR_SECTIONS: dict[str, tuple[str, ...]] = {
    "shell": (),
    "docker": ("docker",),
    "ssh": ("ssh",),
    "virtualbox": ("ssh", "virtualbox"),
    "parallels": ("ssh", "parallels"),
}
EXECUTOR_SECTION_NAMES = {"docker", "ssh", "virtualbox", "parallels", "kubernetes", "machine", "custom"}
ACCESS_LEVELS = ("not_protected", "ref_protected")
# Settings that GitLab owns for runners created in its UI/API (glrt- tokens).
SERVER_SIDE_FLAGS = (
    "locked", "access_level", "run_untagged", "maximum_timeout", "paused", "tag_list",
    "maintenance_note",
)

COMMAND_FLAGS = [
    CONFIG_FLAG,
    Flag("template-config", "Path to the configuration template file", env="TEMPLATE_CONFIG_FILE",
         metavar="FILE"),
    Flag("tag-list", "Tag list", env="RUNNER_TAG_LIST"),
    Flag("non-interactive", "Run registration unattended", kind="bool", short="n",
         env="REGISTER_NON_INTERACTIVE"),
    Flag("leave-runner", "Don't remove runner if registration fails", kind="bool",
         env="REGISTER_LEAVE_RUNNER"),
    Flag("registration-token", "Runner's registration token", short="r", env="REGISTRATION_TOKEN"),
    Flag("run-untagged", "Register to run untagged builds; defaults to 'true' when 'tag-list' is empty",
         kind="bool", env="REGISTER_RUN_UNTAGGED"),
    Flag("locked", "Lock Runner for current project, defaults to 'true'", kind="bool",
         env="REGISTER_LOCKED"),
    Flag("access-level", "Set access_level of the runner to not_protected or ref_protected",
         env="REGISTER_ACCESS_LEVEL"),
    Flag("maximum-timeout", "Maximum timeout (in seconds) for jobs run by this runner", kind="int",
         env="REGISTER_MAXIMUM_TIMEOUT"),
    Flag("paused", "Set Runner to be paused, defaults to 'false'", kind="bool", env="REGISTER_PAUSED"),
    Flag("maintenance-note", "Runner's maintenance note", env="REGISTER_MAINTENANCE_NOTE"),
    Flag("name", "Runner name (default: this host's name)", env="RUNNER_NAME", aliases=("description",)),
    Flag("url", "GitLab instance URL", short="u", env="CI_SERVER_URL"),
    Flag("token", "Runner authentication token (glrt-...)", short="t", env="CI_SERVER_TOKEN"),
    Flag("executor", "Select executor, eg. shell, docker, etc.", env="RUNNER_EXECUTOR"),
]


def config_flags() -> list[Flag]:
    """The [[runners]] settings flags, generated from the config schema like gitlab-runner's."""
    own = {f.long for f in COMMAND_FLAGS} | {a for f in COMMAND_FLAGS for a in f.aliases}
    return [Flag.from_spec(spec) for spec in runner_flag_specs() if spec.long not in own]


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "register", help="register a new runner",
        description="Register a runner with GitLab and append it to config.toml. Boolean flags "
        "take --flag=true|false.",
    )
    add_flags(parser, COMMAND_FLAGS)
    add_flags(parser.add_argument_group("runner settings (written to [[runners]])"), config_flags())
    parser.set_defaults(handler=run)


def run(ns: argparse.Namespace) -> int:
    values = resolve(ns, COMMAND_FLAGS)
    settings_flags = config_flags()
    settings = {flag.key_path: value for flag, value in
                ((f, resolve(ns, [f]).get(f.dest)) for f in settings_flags) if value is not None}
    config = load_config(values.get("config"), creating=True)
    interactive = not values.get("non_interactive", False) and sys.stdin.isatty()
    Registration(config, values, nest(settings), Prompter(interactive)).execute()
    return 0


class Registration:
    """One run of `register`: ask, talk to GitLab, write config.toml, undo in GitLab on failure."""

    def __init__(self, config: ConfigFile, values: Mapping[str, Any], settings: dict[str, Any],
                 prompter: Prompter) -> None:
        self.config = config
        self.values = dict(values)
        self.settings = settings
        self.prompter = prompter
        self.ask = prompter.ask
        self.system_id = system_id(config)

    def execute(self) -> None:
        access_level = self.values.get("access_level", "")
        if access_level and access_level not in ACCESS_LEVELS:
            raise UsageError(
                f'--access-level: "{access_level}" is not valid; use not_protected or ref_protected'
            )
        entry = self._merge_template(self.settings)
        url = self.ask("url", self.values.get("url"),
                       "Enter the GitLab instance URL (for example, https://gitlab.com/):")
        token, legacy = self._token()
        if legacy:
            name = self.ask("name", self.values.get("name") or socket.gethostname(),
                            "Enter a description for the runner:")
            self.values["tag_list"] = self.ask(
                "tag-list", self.values.get("tag_list"),
                "Enter tags for the runner (comma-separated):", allow_empty=True)
            self.values["maintenance_note"] = self.ask(
                "maintenance-note", self.values.get("maintenance_note"),
                "Enter optional maintenance note for the runner:", allow_empty=True)
        else:
            name = self.ask("name", self.values.get("name") or socket.gethostname(),
                            "Enter a name for the runner. This is stored only in the local "
                            "config.toml file:")
        executor = self._executor()
        entry = self._executor_options(executor, entry)
        self._warn_limits(entry)
        self._check(entry, url, name, executor)

        with client_for(self.config, url, tls_ca_file=entry.get("tls-ca-file"),
                        tls_cert_file=entry.get("tls-cert-file"),
                        tls_key_file=entry.get("tls-key-file")) as client:
            info = runner_info(executor=executor, shell=str(entry.get("shell", "")))
            if legacy:
                result = self._register_legacy(client, token, name, info)
            else:
                log.info("Token specified trying to verify runner...")
                result = client.verify_runner(token, system_id=self.system_id, info=info)
                log.info("Verifying runner... is valid", extra=fields(runner=shorten_token(token)))
                result = RunnerRegistration(id=result.id, token=token,
                                            token_expires_at=result.token_expires_at)
            try:
                self._save(entry, url, name, executor, result)
            except BaseException:
                if not self.values.get("leave_runner"):
                    self._undo(client, result.token, legacy)
                raise
        log.info("Runner registered successfully. Feel free to start it, but if it's running "
                 "already the config should be automatically reloaded!")
        log.info('Configuration (with the authentication token) was saved in "%s"', self.config.path)

    def _token(self) -> tuple[str, bool]:
        """The token and whether it is a legacy registration token (POST /runners)."""
        token = (self.values.get("token") or "").strip()
        registration = (self.values.get("registration_token") or "").strip()
        given_server_side = [f for f in SERVER_SIDE_FLAGS if f in self.values]
        if token:
            if given_server_side:
                raise UsageError(_server_side_message(given_server_side))
            return token, False
        registration = self.ask("registration-token", registration, "Enter the registration token:")
        if registration.startswith("glrt-"):
            if given_server_side:
                log.warning(
                    "A runner authentication token was given as --registration-token; ignoring %s:"
                    " these are set in GitLab for runners created there",
                    ", ".join("--" + f.replace("_", "-") for f in given_server_side))
            return registration, False
        log.warning(
            "Registration tokens are deprecated in GitLab (15.6) and disabled by default since 17.0;"
            " create the runner in GitLab and register it with its glrt- token (--token)")
        return registration, True

    def _executor(self) -> str:
        while True:
            executor = self.ask("executor", self.values.get("executor"),
                                "Enter an executor: " + ", ".join(SUPPORTED_EXECUTORS) + ":")
            if executor in SUPPORTED_EXECUTORS:
                return executor
            message = (f'Invalid executor specified: "{executor}"; runnerfleet runs '
                       + ", ".join(SUPPORTED_EXECUTORS))
            if not self.prompter.interactive:
                raise UsageError(message)
            log.error(message)
            self.values["executor"] = None

    def _executor_options(self, executor: str, entry: dict[str, Any]) -> dict[str, Any]:
        keep = EXECUTOR_SECTIONS[executor]
        entry = {k: v for k, v in entry.items() if k not in EXECUTOR_SECTION_NAMES or k in keep}
        if executor == "docker":
            docker = entry.setdefault("docker", {})
            docker["image"] = self.ask("docker-image", docker.get("image"),
                                       "Enter the default Docker image (for example, ruby:2.7):")
            volumes = list(docker.get("volumes", []))
            has_cache = any(v.split(":")[-1] == "/cache" for v in volumes)
            if not has_cache and not docker.get("disable_cache", False):
                volumes.append("/cache")
            docker["volumes"] = volumes
        if executor == "ssh":
            ssh = entry.setdefault("ssh", {})
            ssh["host"] = self.ask("ssh-host", ssh.get("host"),
                                   "Enter the SSH server address (for example, my.server.com):")
            ssh["port"] = self.ask("ssh-port", ssh.get("port"),
                                   "Enter the SSH server port (for example, 22):", allow_empty=True)
        if executor in ("virtualbox", "parallels"):
            section = entry.setdefault(executor, {})
            label = "VirtualBox" if executor == "virtualbox" else "Parallels"
            section["base_name"] = self.ask(f"{executor}-base-name", section.get("base_name"),
                                            f"Enter the {label} VM (for example, my-vm):")
        if executor in ("ssh", "virtualbox"):
            ssh = entry.setdefault("ssh", {})
            ssh["user"] = self.ask("ssh-user", ssh.get("user"),
                                   "Enter the SSH user (for example, root):")
            ssh["password"] = self.ask("ssh-password", ssh.get("password"),
                                       "Enter the SSH password (for example, docker.io):",
                                       allow_empty=True)
            ssh["identity_file"] = self.ask(
                "ssh-identity-file", ssh.get("identity_file"),
                "Enter the path to the SSH identity file (for example, /home/user/.ssh/id_rsa):",
                allow_empty=True)
        for section in ("ssh",):
            if section in entry:
                entry[section] = {k: v for k, v in entry[section].items() if v not in ("", None)}
        return entry

    def _warn_limits(self, entry: Mapping[str, Any]) -> None:
        concurrent = self.config.config.concurrent
        for key in ("limit", "request_concurrency"):
            value = entry.get(key)
            if isinstance(value, int) and value > concurrent:
                log.warning("Specified %s (%d) larger then current concurrent limit (%d). "
                            "Concurrent limit will not be enlarged.", key, value, concurrent)

    def _register_legacy(self, client: GitLabClient, token: str, name: str,
                         info: Mapping[str, Any]) -> RunnerRegistration:
        tags = [t.strip() for t in str(self.values.get("tag_list") or "").split(",") if t.strip()]
        run_untagged = bool(self.values.get("run_untagged", False)) or not tags
        return client.register_runner(
            token,
            description=name,
            tag_list=tags,
            run_untagged=run_untagged,
            locked=bool(self.values.get("locked", True)),
            access_level=str(self.values.get("access_level") or ""),
            maximum_timeout=int(self.values.get("maximum_timeout") or 0),
            paused=bool(self.values.get("paused", False)),
            maintenance_note=str(self.values.get("maintenance_note") or ""),
            info={"name": info.get("name"), "version": info.get("version"),
                  "revision": info.get("revision"), "platform": info.get("platform"),
                  "architecture": info.get("architecture")},
        )

    def _check(self, entry: dict[str, Any], url: str, name: str, executor: str) -> None:
        """Validate the new entry on a scratch copy, so bad settings fail before GitLab is asked."""
        scratch = ConfigFile.from_text(self.config.dumps(), path=self.config.path)
        placeholder = RunnerRegistration(id=0, token="placeholder", token_expires_at=None)
        scratch.add_runner(self._entry(entry, url, name, executor, placeholder))

    def _entry(self, entry: dict[str, Any], url: str, name: str, executor: str,
               result: RunnerRegistration) -> dict[str, Any]:
        head: dict[str, Any] = {
            "name": name,
            "url": url,
            "id": result.id,
            "token": result.token,
            "token_obtained_at": datetime.now(UTC).replace(microsecond=0),
            "token_expires_at": result.token_expires_at,
            "executor": executor,
        }
        return {**head, **{k: v for k, v in entry.items() if k not in head}}

    def _save(self, entry: dict[str, Any], url: str, name: str, executor: str,
              result: RunnerRegistration) -> None:
        self.config.add_runner(self._entry(entry, url, name, executor, result))
        self.config.save()

    def _undo(self, client: GitLabClient, token: str, legacy: bool) -> None:
        """Registration failed after GitLab knew the runner: take it back, as gitlab-runner does."""
        try:
            if legacy:
                client.unregister_runner(token)
            else:
                client.unregister_runner_manager(token, self.system_id)
            log.warning("Registration failed; the runner was removed from GitLab again "
                        "(use --leave-runner to keep it)")
        except Exception as exc:  # the original failure is what the user must see
            log.error("Could not remove the runner from GitLab after the failure: %s", exc)

    def _merge_template(self, settings: dict[str, Any]) -> dict[str, Any]:
        """--template-config: one [[runners]] entry whose keys fill what the flags left unset."""
        template_path = self.values.get("template_config")
        if not template_path:
            return settings
        log.info('Merging configuration from template file "%s"', template_path)
        template = ConfigFile.load(template_path, missing_ok=False)
        if len(template.config.runners) != 1:
            raise ConfigError(f"{template_path}: configuration template must contain exactly one "
                              "[[runners]] entry")
        raw = tomlkit.parse(template.dumps()).unwrap()["runners"][0]
        for key in ("token", "id", "token_obtained_at", "token_expires_at"):
            raw.pop(key, None)
        for key in ("name", "url", "executor"):
            if key in raw and not self.values.get(key):
                self.values[key] = raw.pop(key)
            raw.pop(key, None)
        return _merge(raw, settings)


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _server_side_message(given: list[str]) -> str:
    flags = ", ".join("--" + f.replace("_", "-") for f in given)
    return (f"{flags}: cannot be set when registering with a runner authentication token (glrt-);"
            " these settings are made in GitLab where the runner was created. Run again without them")
