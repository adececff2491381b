"""Which remote URLs a cache key gets from `[runners.cache]`: pre-signed S3 URLs, or none (local only).

The runner process calls this while it writes the restore/archive scripts. `Type = "s3"` with
access keys signs GET, HEAD and PUT URLs valid for the job's timeout; everything runnerfleet
cannot do yet (GCS, Azure, S3 via IAM roles or RoleARN) leaves the cache local to this runner
and says so in one warning line of the job log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runnerfleet.cache import s3
from runnerfleet.cache.keys import object_name
from runnerfleet.config import CacheConfig


@dataclass(frozen=True)
class CacheURLs:
    get: str = ""
    head: str = ""
    put: str = ""
    put_headers: dict[str, str] = field(default_factory=dict)


def remote_urls(cache: CacheConfig | None, *, short_token: str, project_id: int, key: str, sharded: bool,
                timeout: int, metadata: dict[str, str] | None = None,
                now: float | None = None) -> tuple[CacheURLs | None, str]:
    """(URLs, "") for a distributed cache; (None, warning or "") when the cache stays local."""
    kind = (cache.type if cache is not None else "").strip().lower()
    if cache is None or not kind:
        return None, ""
    if kind in ("gcs", "gcsv2", "azure"):
        return None, (f'cache Type "{cache.type}" is not supported yet by runnerfleet: this runner keeps '
                      "the cache locally; use Type = \"s3\" for a shared cache")
    if kind not in ("s3", "s3v2"):
        return None, (f'cache Type "{cache.type}" is unknown: use "s3" (or "gcs"/"azure", not supported '
                      "yet); the cache stays local")
    conf = cache.s3
    if not conf.bucket_name:
        return None, "cache: [runners.cache.s3] BucketName is empty; the cache stays local"
    auth = (conf.authentication_type or "").strip().lower()
    if auth == "iam" or not (conf.access_key and conf.secret_key) or conf.role_arn:
        return None, ("cache: S3 access through IAM roles (AuthenticationType iam, RoleARN) is not "
                      "supported yet by runnerfleet: set AccessKey and SecretKey; the cache stays local")
    name = object_name(path=cache.path, shared=cache.shared, short_token=short_token, project_id=project_id,
                       key=key, sharded=sharded)
    if name is None:
        return None, ("computed cache path outside of project bucket. Please remove `../` from cache key; "
                      "the cache stays local")
    bucket = s3.bucket_for(server_address=conf.server_address, bucket=conf.bucket_name,
                           region=conf.bucket_location, insecure=conf.insecure, path_style=conf.path_style,
                           dual_stack=conf.effective_dual_stack, accelerate=conf.accelerate)
    host, path = bucket.location(name)
    creds = s3.Credentials(conf.access_key, conf.secret_key, conf.session_token)

    def sign(method: str, headers: dict[str, str] | None = None) -> s3.Presigned:
        return s3.presign(method, scheme=bucket.scheme, host=host, path=path, region=bucket.region,
                          credentials=creds, expires=timeout, now=now, headers=headers)

    put = sign("PUT", s3.put_headers(metadata or {}, conf.server_side_encryption,
                                     conf.server_side_encryption_key_id))
    return CacheURLs(get=sign("GET").url, head=sign("HEAD").url, put=put.url, put_headers=put.headers), ""
