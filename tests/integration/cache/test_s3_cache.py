"""The distributed S3 cache end to end: runners sign URLs, helpers move archives through a real S3 server."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from runnerfleet.config import CacheConfig, CacheS3Config
from tests.integration.artifacts.helpers import Api
from tests.integration.artifacts.pipeline import Runner
from tests.integration.cache.s3server import BUCKET, S3Server
from tests.integration.cache.test_local_cache import USE_CACHE, cache, version


def s3_cache(server: S3Server, **keys: Any) -> CacheConfig:
    conf = CacheConfig(type="s3", shared=bool(keys.pop("shared", True)), path=str(keys.pop("path", "")))
    conf.max_uploaded_archive_size = int(keys.pop("max_uploaded_archive_size", 0))
    conf.s3 = CacheS3Config(server_address=server.address, access_key="AKIDEXAMPLE",
                            secret_key="secret-never-logged", bucket_name=BUCKET, insecure=True, **keys)
    return conf


def test_a_cache_saved_by_one_runner_is_restored_by_another(
        api: Api, tmp_path: Path, s3_server: S3Server) -> None:
    first_host = Runner(api, tmp_path / "host-a", cache=s3_cache(s3_server))
    saved = first_host.run(USE_CACHE, cache=cache("deps"), variables=version("from-a"))
    assert saved.state == "success", saved.log
    assert "Using presigned URL for cache upload" in saved.log
    assert f"Uploading cache.zip to http://{s3_server.address}/{BUCKET}/project/1/deps" in saved.log
    assert "Created cache" in saved.log
    assert "secret-never-logged" not in saved.log and "X-Amz-Signature=" not in saved.log
    objects = s3_server.objects()
    assert list(objects) == ["project/1/deps"]
    names = zipfile.ZipFile(io.BytesIO(objects["project/1/deps"])).namelist()
    assert names == ["vendor/", "vendor/dep.txt"]
    assert s3_server.metadata("project/1/deps") == {"cachekey": "deps"}

    second_host = Runner(api, tmp_path / "host-b", cache=s3_cache(s3_server))
    restored = second_host.run(USE_CACHE, cache=cache("deps"), variables=version("from-b"))
    assert restored.state == "success", restored.log
    assert f"Downloading cache from http://{s3_server.address}/{BUCKET}/project/1/deps" in restored.log
    assert "Successfully extracted cache" in restored.log
    assert "\nHIT from-a\n" in restored.log
    assert "Archive is up to date!" in restored.log

    again = second_host.run(USE_CACHE, cache=cache("deps"))
    assert "cache.zip is up to date" in again.log and "\nHIT from-a\n" in again.log


def test_unshared_caches_live_under_the_runner_and_the_path_prefix(
        api: Api, tmp_path: Path, s3_server: S3Server) -> None:
    runner = Runner(api, tmp_path / "host", cache=s3_cache(s3_server, shared=False, path="ci/cache"))
    ran = runner.run(USE_CACHE, cache=cache("deps"), variables=version("1"))
    assert ran.state == "success", ran.log
    assert list(s3_server.objects()) == [f"ci/cache/runner/{runner.config.short_token}/project/1/deps"]


def test_a_missing_object_falls_back_to_the_next_key(
        api: Api, tmp_path: Path, s3_server: S3Server) -> None:
    writer = Runner(api, tmp_path / "writer", cache=s3_cache(s3_server))
    assert writer.run(USE_CACHE, cache=cache("main"), variables=version("main")).state == "success"
    reader = Runner(api, tmp_path / "reader", cache=s3_cache(s3_server))
    ran = reader.run(USE_CACHE, cache=cache("feature", fallback_keys=["main"]), variables=version("f"))
    assert ran.state == "success", ran.log
    assert "WARNING: file does not exist" in ran.log and "Failed to extract cache" in ran.log
    assert "Checking cache for main..." in ran.log and "\nHIT main\n" in ran.log
    assert sorted(s3_server.objects()) == ["project/1/feature", "project/1/main"]


def test_archives_over_the_upload_limit_stay_local(
        api: Api, tmp_path: Path, s3_server: S3Server) -> None:
    runner = Runner(api, tmp_path / "host", cache=s3_cache(s3_server, max_uploaded_archive_size=10))
    ran = runner.run(USE_CACHE, cache=cache("deps"), variables=version("1"))
    assert ran.state == "success", ran.log
    assert "is too big (Limit is set to 10). Cache will be stored only locally." in ran.log
    assert s3_server.objects() == {}
    assert list(runner.cache_root.rglob("cache.zip"))
