"""Cache keys, archive paths and object names as gitlab-runner computes them."""

from __future__ import annotations

import hashlib

import pytest

from runnerfleet.cache.keys import KeyError_, cache_key, default_key, object_name, sanitize


@pytest.mark.parametrize(("raw", "clean"), [
    ("deps", "deps"),
    ("a/b/c", "a/b/c"),
    ("a%2Fb", "a/b"),
    ("a%2e%2e%2Fb", "a../b"),
    ("%2e%2e%2Fb", "b"),
    ("..\\..\\x", "x"),
    ("../../../etc", "etc"),
    ("key  ", "key"),
    ("a/ /  ", "a"),
    ("/leading/slash", "leading/slash"),
])
def test_sanitize(raw: str, clean: str) -> None:
    assert sanitize(raw) == clean


def test_a_key_of_only_dots_cannot_be_used() -> None:
    with pytest.raises(KeyError_, match="could not be sanitized"):
        sanitize("../..")


def test_default_key_is_job_name_and_ref() -> None:
    assert default_key("rspec 1/2", "main") == "rspec 1/2/main"


def test_archive_path_is_relative_to_the_project_dir_and_changes_warn() -> None:
    key, warning = cache_key("deps%2F..%2Fx", cache_dir="/srv/cache/acme/web",
                             project_dir="/srv/builds/t/0/acme/web", hash_keys=False)
    assert key is not None
    assert (key.human, key.archive_file) == ("x", "../../../../../cache/acme/web/x/cache.zip")
    assert warning == 'cache key "deps%2F..%2Fx" sanitized to "x"'


def test_hashed_keys_name_files_by_sha256_and_keep_the_human_key() -> None:
    key, warning = cache_key("deps/../x", cache_dir="/c", project_dir="/b", hash_keys=True)
    assert key is not None and warning == ""
    assert key.human == "deps/../x"
    assert key.hashed == hashlib.sha256(b"deps/../x").hexdigest()
    assert key.archive_file == f"../c/{key.hashed}/cache.zip"


def test_unset_cache_dir_or_empty_key_skip_the_cache() -> None:
    with pytest.raises(KeyError_, match="unset cache directory"):
        cache_key("k", cache_dir="", project_dir="/b", hash_keys=False)
    with pytest.raises(KeyError_, match="empty cache key"):
        cache_key("", cache_dir="/c", project_dir="/b", hash_keys=False)


def test_object_names_follow_path_namespace_project_and_sharding() -> None:
    assert object_name(path="", shared=False, short_token="abcdefghi", project_id=7, key="deps",
                       sharded=False) == "runner/abcdefghi/project/7/deps"
    assert object_name(path="ci/cache", shared=True, short_token="x", project_id=7, key="deps",
                       sharded=False) == "ci/cache/project/7/deps"
    assert object_name(path="", shared=True, short_token="x", project_id=7, key="ab12ef", sharded=True) == (
        "project/7/ab/ab12ef")
    assert object_name(path="", shared=True, short_token="x", project_id=7, key="../8/deps",
                       sharded=False) is None
