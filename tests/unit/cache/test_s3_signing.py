"""SigV4 pre-signed URLs and S3 endpoint rules."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from runnerfleet.cache import s3
from runnerfleet.cache.adapter import remote_urls
from runnerfleet.config import CacheConfig, CacheS3Config

AWS_EXAMPLE = s3.Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
MAY_24_2013 = 1369353600.0


def test_matches_the_presigned_get_example_of_the_aws_documentation() -> None:
    signed = s3.presign("GET", scheme="https", host="examplebucket.s3.amazonaws.com", path="/test.txt",
                        region="us-east-1", credentials=AWS_EXAMPLE, expires=86400, now=MAY_24_2013)
    assert signed.url == (
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")


def test_put_signs_metadata_and_encryption_headers_the_uploader_must_send() -> None:
    headers = s3.put_headers({"cachekey": "deps"}, "KMS", "key-1")
    signed = s3.presign("PUT", scheme="http", host="127.0.0.1:9000", path="/bucket/project/1/deps",
                        region="us-east-1", credentials=AWS_EXAMPLE, expires=3600, now=MAY_24_2013,
                        headers=headers)
    query = parse_qs(urlsplit(signed.url).query)
    assert query["X-Amz-SignedHeaders"] == [
        "host;x-amz-meta-cachekey;x-amz-server-side-encryption;x-amz-server-side-encryption-aws-kms-key-id"]
    assert signed.headers == {"x-amz-meta-cachekey": "deps", "x-amz-server-side-encryption": "aws:kms",
                              "x-amz-server-side-encryption-aws-kms-key-id": "key-1"}


def test_expiry_is_capped_at_seven_days_and_keys_are_uri_encoded() -> None:
    signed = s3.presign("GET", scheme="https", host="h", path="/b/project/1/key with space+plus",
                        region="eu-west-1", credentials=AWS_EXAMPLE, expires=30 * 86400, now=MAY_24_2013)
    parts = urlsplit(signed.url)
    assert parts.path == "/b/project/1/key%20with%20space%2Bplus"
    assert parse_qs(parts.query)["X-Amz-Expires"] == ["604800"]


def test_endpoints_path_style_for_other_servers_virtual_hosts_for_aws() -> None:
    local = s3.bucket_for(server_address="127.0.0.1:9000", bucket="cache", region="", insecure=True,
                          path_style=None, dual_stack=True, accelerate=False)
    assert local.location("project/1/k") == ("127.0.0.1:9000", "/cache/project/1/k")
    assert local.scheme == "http" and local.region == "us-east-1"
    aws = s3.bucket_for(server_address="", bucket="cache", region="eu-west-1", insecure=False,
                        path_style=None, dual_stack=False, accelerate=False)
    assert aws.location("k") == ("cache.s3.eu-west-1.amazonaws.com", "/k")
    dual = s3.bucket_for(server_address="", bucket="cache", region="eu-west-1", insecure=False,
                         path_style=None, dual_stack=True, accelerate=False)
    assert dual.host == "s3.dualstack.eu-west-1.amazonaws.com"
    tls = s3.bucket_for(server_address="minio.example.com:443", bucket="c", region="", insecure=False,
                        path_style=None, dual_stack=True, accelerate=False)
    assert (tls.scheme, tls.host, tls.path_style) == ("https", "minio.example.com", True)


def _config(**s3_keys: object) -> CacheConfig:
    conf = CacheConfig(type="s3", shared=False)
    conf.s3 = CacheS3Config(server_address="127.0.0.1:9000", access_key="AK", secret_key="SK",
                            bucket_name="runner-cache", insecure=True)
    for name, value in s3_keys.items():
        setattr(conf.s3, name, value)
    return conf


def test_adapter_signs_get_head_and_put_for_the_runners_namespace() -> None:
    urls, warning = remote_urls(_config(), short_token="abcdefghi", project_id=7, key="deps", sharded=False,
                                timeout=3600, metadata={"cachekey": "deps"})
    assert warning == "" and urls is not None
    for url in (urls.get, urls.head, urls.put):
        assert url.startswith("http://127.0.0.1:9000/runner-cache/runner/abcdefghi/project/7/deps?")
    assert urls.put_headers == {"x-amz-meta-cachekey": "deps"}


def test_adapter_refuses_what_runnerfleet_cannot_do_with_one_line() -> None:
    iam, warning = remote_urls(_config(access_key="", secret_key=""), short_token="a", project_id=1,
                               key="k", sharded=False, timeout=60)
    assert iam is None and "IAM roles" in warning and "not supported yet" in warning
    gcs, warning = remote_urls(CacheConfig(type="gcs"), short_token="a", project_id=1, key="k",
                               sharded=False, timeout=60)
    assert gcs is None and warning.startswith('cache Type "gcs" is not supported yet by runnerfleet')
    escape, warning = remote_urls(_config(), short_token="a", project_id=1, key="../2/k", sharded=False,
                                  timeout=60)
    assert escape is None and "Please remove `../` from cache key" in warning
