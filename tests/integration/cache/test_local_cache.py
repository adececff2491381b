"""The local cache end to end: shell-executor jobs restore and save caches under the runner's cache_dir."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.artifacts.helpers import Api
from tests.integration.artifacts.pipeline import Runner

# Prints HIT when the cache brought vendor/dep.txt back, else creates it.
USE_CACHE = 'if [ -f vendor/dep.txt ]; then echo "HIT $(cat vendor/dep.txt)"; else echo MISS; ' \
            'mkdir -p vendor; echo "$DEP_VERSION" > vendor/dep.txt; fi'


def cache(key: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"key": key, "paths": ["vendor/"], "policy": "pull-push", "when": "on_success", **extra}]


def version(v: str) -> list[dict[str, Any]]:
    return [{"key": "DEP_VERSION", "value": v}]


def test_a_miss_saves_the_cache_and_the_next_job_hits_it(api: Api, tmp_path: Path) -> None:
    runner = Runner(api, tmp_path / "runner")
    first = runner.run(USE_CACHE, cache=cache("deps-$CI_COMMIT_REF_SLUG"), variables=version("1"))
    assert first.state == "success", first.log
    assert "Restoring cache" in first.log
    assert "Checking cache for deps-main..." in first.log
    assert "WARNING: Cache file does not exist" in first.log
    assert "Failed to extract cache" in first.log
    assert "\nMISS\n" in first.log
    assert "Saving cache for successful job" in first.log
    assert "Creating cache deps-main..." in first.log
    assert "vendor/: found 2 matching artifact files and directories" in first.log
    assert "Created cache" in first.log
    archives = list(runner.cache_root.rglob("cache.zip"))
    assert [p.parent.name for p in archives] == ["deps-main"]
    assert json.loads((archives[0].parent / "metadata.json").read_text()) == {"cachekey": "deps-main"}

    second = runner.run(USE_CACHE, cache=cache("deps-$CI_COMMIT_REF_SLUG"), variables=version("2"))
    assert second.state == "success", second.log
    assert "Successfully extracted cache" in second.log
    assert "\nHIT 1\n" in second.log
    assert "Archive is up to date!" in second.log


def test_fallback_keys_are_tried_in_order_after_a_miss(api: Api, tmp_path: Path) -> None:
    runner = Runner(api, tmp_path / "runner")
    assert runner.run(USE_CACHE, cache=cache("main-deps"), variables=version("main")).state == "success"
    ran = runner.run(USE_CACHE, cache=cache("feature-deps", fallback_keys=["nope-deps", "main-deps"]),
                     variables=version("feature"))
    assert ran.state == "success", ran.log
    order = [ran.log.index(text) for text in (
        "Checking cache for feature-deps...", "Checking cache for nope-deps...",
        "Checking cache for main-deps...", "Successfully extracted cache")]
    assert order == sorted(order)
    assert ran.log.count("Failed to extract cache") == 2
    assert "\nHIT main\n" in ran.log
    assert "Creating cache feature-deps..." in ran.log


def test_cache_fallback_key_variable_is_tried_last_and_protected_keys_are_refused(
        api: Api, tmp_path: Path) -> None:
    runner = Runner(api, tmp_path / "runner")
    assert runner.run(USE_CACHE, cache=cache("default-deps"), variables=version("default")).state == "success"
    ran = runner.run(USE_CACHE, cache=cache("branch-deps"),
                     variables=[*version("x"), {"key": "CACHE_FALLBACK_KEY", "value": "default-deps"}])
    assert "Checking cache for default-deps..." in ran.log and "\nHIT default\n" in ran.log
    refused = runner.run(USE_CACHE, cache=cache("other-deps"),
                         variables=[*version("y"), {"key": "CACHE_FALLBACK_KEY", "value": "x-protected"}])
    assert 'CACHE_FALLBACK_KEY "x-protected" not allowed to end in "-protected"' in refused.log
    assert "Checking cache for x-protected" not in refused.log


def test_pull_policy_restores_but_never_saves(api: Api, tmp_path: Path) -> None:
    runner = Runner(api, tmp_path / "runner")
    assert runner.run(USE_CACHE, cache=cache("shared"), variables=version("1")).state == "success"
    [archive] = list(runner.cache_root.rglob("cache.zip"))
    before = archive.stat().st_mtime_ns
    ran = runner.run(USE_CACHE + "; echo changed > vendor/new.txt", cache=cache("shared", policy="pull"))
    assert ran.state == "success", ran.log
    assert "\nHIT 1\n" in ran.log
    assert "Not uploading cache shared due to policy" in ran.log
    assert archive.stat().st_mtime_ns == before


def test_push_policy_saves_without_restoring(api: Api, tmp_path: Path) -> None:
    runner = Runner(api, tmp_path / "runner")
    assert runner.run(USE_CACHE, cache=cache("built"), variables=version("1")).state == "success"
    ran = runner.run(USE_CACHE, cache=cache("built", policy="push"), variables=version("2"))
    assert "Not downloading cache built due to policy" in ran.log
    assert "\nMISS\n" in ran.log
    assert "Created cache" in ran.log
    hit = runner.run(USE_CACHE, cache=cache("built", policy="pull"))
    assert "\nHIT 2\n" in hit.log


def test_policy_from_a_variable_and_an_unknown_policy(api: Api, tmp_path: Path) -> None:
    runner = Runner(api, tmp_path / "runner")
    ran = runner.run(USE_CACHE, cache=cache("v", policy="$POLICY"),
                     variables=[*version("1"), {"key": "POLICY", "value": "push"}])
    assert "Not downloading cache v due to policy" in ran.log and ran.state == "success"
    bad = runner.run(USE_CACHE, cache=cache("v", policy="sometimes"))
    assert bad.state == "failed"
    assert "unknown cache policy 'sometimes' for v: use pull, push or pull-push" in bad.log


def test_on_failure_caches_are_saved_only_for_failed_jobs(api: Api, tmp_path: Path) -> None:
    runner = Runner(api, tmp_path / "runner")
    ran = runner.run(USE_CACHE, "exit 1", cache=cache("debug", when="on_failure"), variables=version("1"))
    assert ran.state == "failed"
    assert "Saving cache for failed job" in ran.log and "Created cache" in ran.log
    ok = runner.run(USE_CACHE, cache=cache("debug-ok", when="on_failure"), variables=version("1"))
    assert "Saving cache for" not in ok.log


def test_a_failing_cache_never_fails_the_job(api: Api, tmp_path: Path) -> None:
    runner = Runner(api, tmp_path / "runner", cache_dir="/proc/runnerfleet-cannot-write-here")
    ran = runner.run(USE_CACHE, cache=cache("deps"), variables=version("1"))
    assert ran.state == "success", ran.log
    assert "Failed to extract cache" in ran.log and "Failed to create cache" in ran.log


def test_keys_are_sanitised_with_a_warning(api: Api, tmp_path: Path) -> None:
    runner = Runner(api, tmp_path / "runner")
    ran = runner.run(USE_CACHE, cache=cache("a%2F..%2F..%2Fescape  "), variables=version("1"))
    assert ran.state == "success", ran.log
    assert 'cache key "a%2F..%2F..%2Fescape  " sanitized to "escape"' in ran.log
    assert [p.parent.name for p in runner.cache_root.rglob("cache.zip")] == ["escape"]


def test_without_key_the_cache_is_per_job_name_and_ref(api: Api, tmp_path: Path) -> None:
    runner = Runner(api, tmp_path / "runner")
    ran = runner.run(USE_CACHE, name="lint", cache=[{"paths": ["vendor/"]}], variables=version("1"))
    assert "Creating cache lint/main..." in ran.log


def test_gcs_and_azure_are_refused_with_one_line_and_the_cache_stays_local(api: Api, tmp_path: Path) -> None:
    from runnerfleet.config import CacheConfig

    runner = Runner(api, tmp_path / "runner", cache=CacheConfig(type="gcs"))
    ran = runner.run(USE_CACHE, cache=cache("deps"), variables=version("1"))
    assert ran.state == "success", ran.log
    assert ('cache Type "gcs" is not supported yet by runnerfleet: this runner keeps the cache locally; '
            'use Type = "s3" for a shared cache') in ran.log
    assert "Created cache" in ran.log
