"""`cache-archiver`, `cache-extractor` and `cache-init`: the cache helpers, with gitlab-runner's flags."""

from __future__ import annotations

import argparse
import os
from typing import Any

from runnerfleet.cli.helpers_artifacts import archive_selection_flags
from runnerfleet.cli.helpers_flags import add, go_bool, go_duration, integer

COMMANDS = ("cache-archiver", "cache-extractor", "cache-init")


def _retry(parser: argparse.ArgumentParser) -> None:
    add(parser, "retry", "How many times to retry upload", default="2")
    add(parser, "retry-time", "How long to wait between retries", default="1s")


def add_parser(subparsers: Any) -> None:
    arc = subparsers.add_parser("cache-archiver", help="create and upload cache artifacts (internal)",
                                description="Zip the cache paths into --file and upload it to --url.")
    add(arc, "file", "The path to file", default="")
    add(arc, "alternate-file", "(temporary) Alternate local cache file path to rename to --file", default="")
    archive_selection_flags(arc)
    add(arc, "url", "URL of remote cache resource (pre-signed URL)", default="")
    add(arc, "check-url", "(temporary) Pre-signed HEAD URL of the primary cache object", default="")
    add(arc, "gocloud-url", "Go Cloud URL of remote cache resource (requires credentials)", default="")
    add(arc, "timeout", "Overall timeout for cache uploading request (in minutes)", default="10")
    add(arc, "header", "HTTP headers to send with PUT request (in form of 'key:value')", repeat=True)
    add(arc, "metadata", "Metadata for the cache artifact (JSON object)", env="CACHE_METADATA", default="")
    add(arc, "compression-level", "Compression level (fastest, fast, default, slow, slowest)",
        env="CACHE_COMPRESSION_LEVEL", default="")
    add(arc, "compression-format", "Compression format (zip, tarzstd, zipzstd)",
        env="CACHE_COMPRESSION_FORMAT", default="")
    add(arc, "max-uploaded-archive-size", "Limit the size of the cache archive being uploaded (bytes)",
        env="CACHE_MAX_UPLOADED_ARCHIVE_SIZE", default="0")
    add(arc, "env-file", "Filename containing environment variables to read", default="")
    _retry(arc)
    arc.set_defaults(handler=archive)

    ext = subparsers.add_parser("cache-extractor", help="download and extract cache artifacts (internal)",
                                description="Bring --file up to date from --url and extract it here.")
    add(ext, "file", "The file containing your cache artifacts", default="")
    add(ext, "url", "URL of remote cache resource", default="")
    add(ext, "head-url", "(temporary) HEAD pre-signed URL of the primary cache object", default="")
    add(ext, "gocloud-url", "Go Cloud URL of remote cache resource (requires credentials)", default="")
    add(ext, "alternate-url", "(temporary) Alternate pre-signed URL of remote cache resource", default="")
    add(ext, "alternate-head-url", "(temporary) HEAD pre-signed URL of the alternate object", default="")
    add(ext, "alternate-gocloud-url", "(temporary) Alternate Go Cloud URL of remote cache resource",
        default="")
    add(ext, "timeout", "Overall timeout for cache downloading request (in minutes)", default="10")
    add(ext, "env-file", "Filename containing environment variables to read", default="")
    _retry(ext)
    ext.set_defaults(handler=extract)

    init = subparsers.add_parser("cache-init", help="changed permissions for cache paths (internal)",
                                 description="Make freshly created cache volumes writable for every user.")
    init.add_argument("paths", nargs="*", metavar="PATH")
    init.set_defaults(handler=cache_init)


def _gocloud_refused(ns: argparse.Namespace) -> bool:
    if not ns.gocloud_url:
        return False
    from runnerfleet.artifacts.report import Reporter

    Reporter().fatal("--gocloud-url is not supported by runnerfleet yet: use pre-signed --url "
                     "(S3 with access keys)")
    return True


def archive(ns: argparse.Namespace) -> int:
    from runnerfleet.cache.archiver import ArchiveOptions, CacheArchiver

    if _gocloud_refused(ns):
        return 1
    options = ArchiveOptions(
        file=ns.file, paths=list(ns.path), exclude=list(ns.exclude),
        untracked=go_bool(ns.untracked, "untracked"), url=ns.url, headers=list(ns.header),
        alternate_file=ns.alternate_file, timeout_minutes=integer(ns.timeout, "timeout", 10),
        max_uploaded_archive_size=integer(ns.max_uploaded_archive_size, "max-uploaded-archive-size"),
        metadata=ns.metadata, compression_level=ns.compression_level,
        compression_format=ns.compression_format, env_file=ns.env_file,
        retries=integer(ns.retry, "retry", 2), retry_time=go_duration(ns.retry_time, "retry-time"),
    )
    return CacheArchiver(options).run()


def extract(ns: argparse.Namespace) -> int:
    from runnerfleet.cache.extractor import CacheExtractor, ExtractOptions

    if _gocloud_refused(ns):
        return 1
    options = ExtractOptions(
        file=ns.file, url=ns.url, timeout_minutes=integer(ns.timeout, "timeout", 10), env_file=ns.env_file,
        retries=integer(ns.retry, "retry", 2), retry_time=go_duration(ns.retry_time, "retry-time"),
    )
    return CacheExtractor(options).run()


def cache_init(ns: argparse.Namespace) -> int:
    from runnerfleet.artifacts.report import Reporter

    log = Reporter()
    if not ns.paths:
        log.fatal("No arguments passed, at least 1 path is required.")
        return 1
    for path in ns.paths:
        try:
            os.chmod(path, 0o777)
        except OSError as exc:
            log.error("failed to chmod path", error=f"chmod {path}: {exc.strerror or exc}")
    return 0
