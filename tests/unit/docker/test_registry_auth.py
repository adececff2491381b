"""Which registry credentials an image gets: sources in gitlab-runner's order, longest path first."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from runnerfleet.executors.docker.auth import (
    SOURCE_PAYLOAD,
    SOURCE_VARIABLE,
    for_image,
    image_path,
    registry_host,
    resolve,
)
from runnerfleet.job.payload import Credentials


def _config(entries: dict[str, tuple[str, str]]) -> str:
    return json.dumps({"auths": {host: {"auth": base64.b64encode(f"{u}:{p}".encode()).decode()}
                                 for host, (u, p) in entries.items()}})


def test_image_paths_put_docker_hub_images_on_docker_io_and_drop_tags_and_digests() -> None:
    assert image_path("alpine") == "docker.io/alpine"
    assert image_path("library/alpine:3") == "docker.io/library/alpine"
    assert image_path("Registry.Example.com:5000/Group/App:1@sha256:ab") == \
        "registry.example.com:5000/Group/App"
    assert image_path("localhost/app") == "localhost/app"
    assert registry_host("127.0.0.1:5000/rftest/debian:1") == "127.0.0.1:5000"
    assert registry_host("debian:bookworm") == "docker.io"


def test_docker_auth_config_comes_before_the_home_config_and_the_payload(tmp_path: Path) -> None:
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text(_config({"reg.example:5000": ("home", "h"),
                                                               "other.example": ("home", "h")}))
    payload = [Credentials("registry", "reg.example:5000", "gitlab-ci-token", "t"),
               Credentials("registry", "third.example", "gitlab-ci-token", "t"),
               Credentials("other", "fourth.example", "x", "y")]
    resolved, problems = resolve(_config({"https://reg.example:5000/v1/": ("var", "v")}), payload, tmp_path)
    assert problems == []
    assert {k: v.source for k, v in resolved.items()} == {
        "reg.example:5000": SOURCE_VARIABLE, "other.example": str(tmp_path / ".docker" / "config.json"),
        "third.example": SOURCE_PAYLOAD}
    found = for_image("reg.example:5000/group/app:1", resolved)
    assert found is not None and (found.username, found.password) == ("var", "v")
    assert for_image("nowhere.example/app", resolved) is None


def test_the_longest_registry_path_containing_the_image_wins(tmp_path: Path) -> None:
    resolved, _ = resolve(_config({"reg.example": ("host", "1"), "reg.example/team": ("team", "2")}), [],
                          tmp_path)
    team = for_image("reg.example/team/app:latest", resolved)
    other = for_image("reg.example/else/app", resolved)
    assert team is not None and team.username == "team"
    assert other is not None and other.username == "host"


def test_an_unreadable_source_is_reported_without_its_secret_and_the_others_still_apply(
        tmp_path: Path) -> None:
    payload = [Credentials("registry", "reg.example", "u", "p")]
    resolved, problems = resolve('{"auths": {"reg.example": {"auth": "c2VjcmV0LXdpdGhvdXQtY29sb24="}}}',
                                 payload, tmp_path)
    assert problems == ['$DOCKER_AUTH_CONFIG: the "auth" of reg.example is not base64 of "user:password"']
    assert resolved["reg.example"].source == SOURCE_PAYLOAD
    _, problems = resolve("{not json", [], tmp_path)
    assert problems[0].startswith("$DOCKER_AUTH_CONFIG: not valid JSON")
