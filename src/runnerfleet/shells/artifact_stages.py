"""download_artifacts and upload_artifacts_on_success/_on_failure script bodies (engine spec §5.8).

Downloads run `artifacts-downloader` for every dependency that has an artifacts file, with the
dependency's token; uploads run `artifacts-uploader` once per artifact whose `when` matches.
Both are guarded by the helper's availability; a failing helper fails the stage (errexit).
"""

from __future__ import annotations

from runnerfleet.job.payload import Artifact
from runnerfleet.shells.build_info import BuildInfo
from runnerfleet.shells.helper_guard import guard, runner_command, runner_url, when_matches
from runnerfleet.shells.writer import ShellWriter

DEFAULT_UPLOAD_TIMEOUT = "1h0m0s"
DEFAULT_RESPONSE_HEADER_TIMEOUT = "10m0s"


def write_download(w: ShellWriter, build: BuildInfo) -> bool:
    dependencies = [d for d in build.payload.dependencies if d.artifacts_file.filename]
    if not dependencies:
        return False
    url = runner_url(build)

    def body() -> None:
        for dep in dependencies:
            w.notice(f"Downloading artifacts for {dep.name} ({dep.id})...")
            w.command(runner_command(build), "artifacts-downloader", "--url", url, "--token", dep.token,
                      "--id", str(dep.id))

    guard(w, build, "Artifacts downloading", body)
    return True


def _timeouts(build: BuildInfo) -> tuple[str, str]:
    if build.runner is None:
        return DEFAULT_UPLOAD_TIMEOUT, DEFAULT_RESPONSE_HEADER_TIMEOUT
    artifact = build.runner.artifact
    return (artifact.effective_upload_timeout.go_string,
            artifact.effective_response_header_timeout.go_string)


def _uploader_args(build: BuildInfo, artifact: Artifact) -> list[str] | None:
    selection: list[str] = []
    for path in artifact.paths:
        selection += ["--path", path]
    for path in artifact.exclude:
        selection += ["--exclude", path]
    if artifact.untracked:
        selection.append("--untracked")
    if not selection:
        return None
    upload_timeout, header_timeout = _timeouts(build)
    args = ["artifacts-uploader", "--url", runner_url(build), "--token", build.payload.token,
            "--id", str(build.payload.id), "--timeout", upload_timeout,
            "--response-header-timeout", header_timeout, *selection]
    for flag, value in (("--name", artifact.name), ("--expire-in", artifact.expire_in),
                        ("--artifact-format", artifact.artifact_format),
                        ("--artifact-type", artifact.artifact_type)):
        if value:
            args += [flag, value]
    return args


def write_upload(w: ShellWriter, build: BuildInfo, on_success: bool) -> bool:
    """The upload body; False when the runner has no URL or no artifact applies."""
    if not runner_url(build):
        return False
    work = False
    for artifact in build.payload.artifacts:
        if not when_matches(artifact.when, on_success):
            continue
        args = _uploader_args(build, artifact)
        if args is None:
            continue
        work = True

        def body(args: list[str] = args) -> None:
            w.notice("Uploading artifacts...")
            w.command(runner_command(build), *args)

        guard(w, build, "Uploading artifacts", body)
    return work
