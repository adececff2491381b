"""Pre-signed S3 URLs (AWS Signature Version 4, query-string form) made with the standard library only.

The runner signs GET/HEAD/PUT URLs for one object and hands them to the cache helpers, so the
job never sees the credentials. Endpoint rules follow gitlab-runner's S3 cache: `ServerAddress`
(https unless `Insecure`, canonical ports dropped) with path-style addressing when the server is
not AWS/Google, virtual-hosted style otherwise; AWS without an address uses the regional (dual
stack by default, or accelerate) endpoint. PUT URLs sign the `x-amz-meta-*` metadata and the
server-side encryption headers, which the uploader must then send.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_EXPIRES = 7 * 24 * 3600
DEFAULT_REGION = "us-east-1"
_DEFAULT_ENDPOINT = "s3.amazonaws.com"


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str = ""


@dataclass(frozen=True)
class Presigned:
    url: str
    headers: dict[str, str] = field(default_factory=dict)  # headers the request must carry


def uri_encode(text: str, *, keep_slash: bool = False) -> str:
    """RFC 3986 encoding as SigV4 wants it: unreserved characters stay, the rest is %XX."""
    return quote(text, safe="-_.~/" if keep_slash else "-_.~")


def signing_key(secret: str, date: str, region: str, service: str = "s3") -> bytes:
    key = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def presign(method: str, *, scheme: str, host: str, path: str, region: str, credentials: Credentials,
            expires: int, now: float | None = None, headers: dict[str, str] | None = None) -> Presigned:
    """A pre-signed URL for `method` on `scheme://host/path` (path already in its final form)."""
    stamp = time.gmtime(time.time() if now is None else now)
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", stamp)
    date = amz_date[:8]
    scope = f"{date}/{region}/s3/aws4_request"
    signed = {"host": host, **{k.lower(): v.strip() for k, v in (headers or {}).items()}}
    signed_names = ";".join(sorted(signed))
    query = {
        "X-Amz-Algorithm": ALGORITHM,
        "X-Amz-Credential": f"{credentials.access_key}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(max(1, min(int(expires), MAX_EXPIRES))),
        "X-Amz-SignedHeaders": signed_names,
    }
    if credentials.session_token:
        query["X-Amz-Security-Token"] = credentials.session_token
    canonical_query = "&".join(f"{uri_encode(k)}={uri_encode(v)}" for k, v in sorted(query.items()))
    canonical_uri = uri_encode(path if path.startswith("/") else "/" + path, keep_slash=True)
    canonical_headers = "".join(f"{name}:{signed[name]}\n" for name in sorted(signed))
    canonical_request = "\n".join([method, canonical_uri, canonical_query, canonical_headers, signed_names,
                                   "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    signature = hmac.new(signing_key(credentials.secret_key, date, region), to_sign.encode(),
                         hashlib.sha256).hexdigest()
    url = f"{scheme}://{host}{canonical_uri}?{canonical_query}&X-Amz-Signature={signature}"
    return Presigned(url, {k: v for k, v in (headers or {}).items()})


@dataclass(frozen=True)
class Bucket:
    """Where objects of one `[runners.cache.s3]` configuration live."""

    scheme: str
    host: str  # with a non-default port
    bucket: str
    region: str
    path_style: bool

    def location(self, object_name: str) -> tuple[str, str]:
        """(host, path) of an object."""
        key = object_name.lstrip("/")
        if self.path_style:
            return self.host, f"/{self.bucket}/{key}"
        return f"{self.bucket}.{self.host}", f"/{key}"


def _is_aws_or_google(host: str) -> bool:
    name = host.rsplit(":", 1)[0].lower()
    return name.endswith(".amazonaws.com") or name == "amazonaws.com" or name.endswith("googleapis.com")


def endpoint_host(server_address: str, insecure: bool) -> tuple[str, str]:
    """(scheme, host[:port]) of a ServerAddress, dropping the scheme's canonical port."""
    scheme = "http" if insecure else "https"
    host = server_address.strip()
    if host.count(":") == 1:
        name, port = host.split(":")
        if (scheme, port) in (("https", "443"), ("http", "80")):
            host = name
    return scheme, host


def bucket_for(*, server_address: str, bucket: str, region: str, insecure: bool, path_style: bool | None,
               dual_stack: bool, accelerate: bool) -> Bucket:
    region = region or DEFAULT_REGION
    if server_address and server_address.strip() not in (_DEFAULT_ENDPOINT, f"{_DEFAULT_ENDPOINT}:443"):
        scheme, host = endpoint_host(server_address, insecure)
        if path_style is None:
            # Virtual-hosted addressing only where the server is known to support it.
            path_style = not (_is_aws_or_google(host) and (scheme == "http" or "." not in bucket))
        return Bucket(scheme, host, bucket, region, path_style)
    if accelerate:
        host = "s3-accelerate.dualstack.amazonaws.com" if dual_stack else "s3-accelerate.amazonaws.com"
    elif dual_stack:
        host = f"s3.dualstack.{region}.amazonaws.com"
    else:
        host = f"s3.{region}.amazonaws.com"
    style = path_style if path_style is not None else "." in bucket
    return Bucket("https", host, bucket, region, style)


ENCRYPTION = {"S3": "AES256", "AES256": "AES256", "KMS": "aws:kms", "AWS:KMS": "aws:kms",
              "DSSE-KMS": "aws:kms:dsse", "AWS:KMS:DSSE": "aws:kms:dsse"}


def put_headers(metadata: dict[str, str], encryption: str, kms_key_id: str) -> dict[str, str]:
    """Headers a PUT signs and sends: `x-amz-meta-<key>` and server-side encryption."""
    headers = {f"x-amz-meta-{k}": v for k, v in metadata.items()}
    sse = ENCRYPTION.get(encryption.strip().upper(), "") if encryption else ""
    if sse:
        headers["x-amz-server-side-encryption"] = sse
        if sse != "AES256" and kms_key_id:
            headers["x-amz-server-side-encryption-aws-kms-key-id"] = kms_key_id
    return headers
