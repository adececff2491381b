"""Allowed-image globs and pull policy choice, as gitlab-runner decides them."""

from __future__ import annotations

import pytest

from runnerfleet.executors.docker.images import glob_match, pull_policies
from runnerfleet.executors.errors import BuildError


@pytest.mark.parametrize(("pattern", "name", "matches"), [
    ("ruby:*", "ruby:3.3", True),
    ("ruby:*", "ruby", False),
    ("*", "alpine", True),
    ("*", "library/alpine", False),
    ("**", "registry.example.com/group/image:1", True),
    ("registry.example.com/**", "registry.example.com/group/sub/image:1", True),
    ("registry.example.com/*", "registry.example.com/group/sub/image:1", False),
    ("postgres:1{4,5}", "postgres:15", True),
    ("postgres:1[0-3]", "postgres:15", False),
    ("alpine:3.?", "alpine:3.9", True),
])
def test_allowed_image_patterns_follow_doublestar_globs(pattern: str, name: str, matches: bool) -> None:
    assert glob_match(pattern, name) is matches


def test_the_job_policy_wins_when_the_runner_allows_it() -> None:
    chosen = pull_policies(["if-not-present"], ["always"], ["always", "if-not-present"], "x")
    assert chosen == ["if-not-present"]


def test_without_a_job_policy_the_runner_policy_list_is_used_in_order() -> None:
    assert pull_policies([], ["always", "if-not-present"], [], "x") == ["always", "if-not-present"]
    assert pull_policies([], [], [], "x") == ["always"]


def test_a_job_policy_outside_allowed_pull_policies_is_a_configuration_error() -> None:
    with pytest.raises(BuildError) as caught:
        pull_policies(["always"], ["never"], [], "alpine")
    assert str(caught.value) == ('failed to pull image "alpine": pull_policy ([always]) defined in GitLab '
                                 "pipeline config is not one of the allowed_pull_policies ([never])")
    assert caught.value.failure_reason == "runner_configuration_error"


def test_a_runner_policy_outside_its_own_allowed_list_is_refused() -> None:
    with pytest.raises(BuildError, match=r"defined in Runner config is not one of the allowed_pull_policies"):
        pull_policies([], ["always"], ["never"], "alpine")


def test_an_unknown_runner_policy_names_the_key() -> None:
    with pytest.raises(BuildError, match=r'runners\.docker\.pull_policy: unsupported pull policy "some'):
        pull_policies([], ["sometimes"], [], "alpine")
