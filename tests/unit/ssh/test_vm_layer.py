"""The VM layer: base VM selection from allowed_images, VM names, concurrency slots, NAT answer parsing."""

from __future__ import annotations

import pytest

from runnerfleet.executors.errors import BuildError, FailureReason
from runnerfleet.executors.vm import Slots, compile_allowed_images, runner_vm_pattern, select_base_vm, vm_name
from runnerfleet.trace import TraceBuffer


def _trace() -> TraceBuffer:
    return TraceBuffer(timestamps=False)


def _text(trace: TraceBuffer) -> str:
    return trace.bytes_since(0).decode()


def test_no_image_or_the_default_image_selects_the_configured_base() -> None:
    allowed = compile_allowed_images(["^debian-.*$"], "runners.virtualbox.allowed_images")
    assert select_base_vm("golden", "", allowed, _trace()) == "golden"
    assert select_base_vm("golden", "golden", allowed, _trace()) == "golden"


def test_an_allowed_image_selects_that_base_vm_with_unanchored_patterns() -> None:
    allowed = compile_allowed_images(["ubuntu", "^debian-1[12]$"], "runners.virtualbox.allowed_images")
    assert select_base_vm("golden", "my-ubuntu-22", allowed, _trace()) == "my-ubuntu-22"
    assert select_base_vm("golden", "debian-12", allowed, _trace()) == "debian-12"


def test_without_allowed_images_the_job_image_is_ignored_with_a_warning() -> None:
    trace = _trace()
    assert select_base_vm("golden", "other-vm", [], trace) == "golden"
    assert 'No allowed_images configuration found for "other-vm", using image "golden"' in _text(trace)


def test_an_image_outside_allowed_images_fails_the_job_and_lists_the_patterns() -> None:
    trace = _trace()
    allowed = compile_allowed_images(["^debian-.*$"], "runners.virtualbox.allowed_images")
    with pytest.raises(BuildError) as caught:
        select_base_vm("golden", "windows-11", allowed, trace)
    assert str(caught.value) == "invalid image"
    assert caught.value.failure_reason == FailureReason.RUNNER_CONFIGURATION_ERROR
    text = _text(trace)
    assert 'The "windows-11" image is not present on list of allowed images' in text
    assert "- ^debian-.*$" in text and "Please check runner's configuration" in text


def test_an_invalid_allowed_images_pattern_is_a_configuration_error_naming_the_key() -> None:
    with pytest.raises(BuildError) as caught:
        compile_allowed_images(["debian-(", "ok"], "runners.virtualbox.allowed_images")
    assert str(caught.value).startswith("runners.virtualbox.allowed_images: invalid regexp pattern in "
                                        "allowed_images parameter: debian-( (")
    assert caught.value.failure_reason == FailureReason.RUNNER_CONFIGURATION_ERROR


def test_vm_names_follow_gitlab_runner_and_leftover_patterns_match_only_this_runner() -> None:
    assert vm_name("golden", "abcdefghi", 3) == "golden-runner-abcdefghi-concurrent-3"
    pattern = runner_vm_pattern("abcdefghi")
    assert pattern.fullmatch("golden-runner-abcdefghi-concurrent-3")
    assert pattern.fullmatch("golden-runner-abcdefghi-project-7-concurrent-0")
    assert not pattern.fullmatch("golden-runner-zzzzzzzzz-concurrent-3")
    assert not pattern.fullmatch("golden")


def test_slots_hand_out_the_smallest_free_id_per_runner() -> None:
    slots = Slots()
    assert [slots.take("a"), slots.take("a"), slots.take("b")] == [0, 1, 0]
    slots.give("a", 0)
    assert slots.take("a") == 0
    assert slots.take("a") == 2
