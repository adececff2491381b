"""`artifacts-uploader` and `artifacts-downloader`: helpers job scripts call, with gitlab-runner's flags."""

from __future__ import annotations

import argparse
from typing import Any

from runnerfleet.cli.helpers_flags import add, go_bool, go_duration, integer

COMMANDS = ("artifacts-uploader", "artifacts-downloader")


def _credentials(parser: argparse.ArgumentParser) -> None:
    add(parser, "id", "The build ID to download and upload artifacts for", env="CI_JOB_ID")
    add(parser, "token", "Build token", env="CI_JOB_TOKEN")
    add(parser, "url", "GitLab CI URL", env="CI_SERVER_URL")
    add(parser, "tls-ca-file", "File containing the certificates to verify the peer when using HTTPS",
        env="CI_SERVER_TLS_CA_FILE")
    add(parser, "tls-cert-file", "File containing certificate for TLS client auth",
        env="CI_SERVER_TLS_CERT_FILE")
    add(parser, "tls-key-file", "File containing private key for TLS client auth",
        env="CI_SERVER_TLS_KEY_FILE")


def archive_selection_flags(parser: argparse.ArgumentParser) -> None:
    """The flags choosing what goes into an archive (artifacts-uploader and cache-archiver alike)."""
    add(parser, "path", "Add paths to archive", repeat=True)
    add(parser, "exclude", "Exclude paths from the archive", repeat=True)
    add(parser, "untracked", "Add git untracked files", flag=True)
    add(parser, "verbose", "Detailed information", flag=True)


def add_parser(subparsers: Any) -> None:
    up = subparsers.add_parser("artifacts-uploader", help="create and upload build artifacts (internal)",
                               description="Archive --path files and upload them to GitLab (called by job "
                                           "scripts).")
    _credentials(up)
    archive_selection_flags(up)
    add(up, "name", "The name of the archive", default="artifacts")
    add(up, "expire-in", "When to expire artifacts", default="")
    add(up, "artifact-format", "Format of generated artifacts", default="")
    add(up, "artifact-type", "Type of generated artifacts", default="")
    add(up, "compression-level", "Compression level (fastest, fast, default, slow, slowest)",
        env="ARTIFACT_COMPRESSION_LEVEL", default="")
    add(up, "timeout", "Timeout for the upload operation", default="1h0m0s")
    add(up, "response-header-timeout", "Timeout for response headers", default="10m0s")
    add(up, "ci-debug-trace", "enable debug trace logging", env="CI_DEBUG_TRACE", flag=True)
    up.set_defaults(handler=upload)

    down = subparsers.add_parser("artifacts-downloader",
                                 help="download and extract build artifacts (internal)",
                                 description="Download a job's artifacts and extract them here (called by "
                                             "job scripts).")
    _credentials(down)
    add(down, "direct-download", "Support direct download for data stored externally to GitLab",
        env="FF_USE_DIRECT_DOWNLOAD", flag=True)
    add(down, "archiver-staging-dir", "Directory to stage artifact archives", env="ARCHIVER_STAGING_DIR",
        default="")
    add(down, "retry", "How many times to retry the download", default="2")
    add(down, "retry-time", "How long to wait between retries", default="1s")
    down.set_defaults(handler=download)


def _tls_env(ns: argparse.Namespace) -> None:
    # The flags override the job's TLS files; the transport reads them from the environment.
    import os

    for flag, env in (("tls_ca_file", "CI_SERVER_TLS_CA_FILE"), ("tls_cert_file", "CI_SERVER_TLS_CERT_FILE"),
                      ("tls_key_file", "CI_SERVER_TLS_KEY_FILE")):
        if getattr(ns, flag):
            os.environ[env] = getattr(ns, flag)


def upload(ns: argparse.Namespace) -> int:
    from runnerfleet.artifacts.uploader import Uploader, UploadOptions

    _tls_env(ns)
    options = UploadOptions(
        url=ns.url or "", token=ns.token or "", job_id=integer(ns.id, "id"),
        paths=list(ns.path), exclude=list(ns.exclude), untracked=go_bool(ns.untracked, "untracked"),
        name=ns.name, expire_in=ns.expire_in, artifact_format=ns.artifact_format,
        artifact_type=ns.artifact_type, compression_level=ns.compression_level,
        timeout=go_duration(ns.timeout, "timeout"),
        response_header_timeout=go_duration(ns.response_header_timeout, "response-header-timeout"),
    )
    return Uploader(options).run()


def download(ns: argparse.Namespace) -> int:
    from runnerfleet.artifacts.downloader import Downloader, DownloadOptions

    _tls_env(ns)
    options = DownloadOptions(
        url=ns.url or "", token=ns.token or "", job_id=integer(ns.id, "id"),
        direct_download=go_bool(ns.direct_download, "direct-download"),
        staging_dir=ns.archiver_staging_dir or "", retries=integer(ns.retry, "retry", 2),
        retry_time=go_duration(ns.retry_time, "retry-time"),
    )
    return Downloader(options).run()
