"""Variables as jobs see them: file variables, masked values, runner environment, CI_* values."""

from __future__ import annotations

import pytest

from tests.integration.build.helpers import World, payload, project_dir, run_job, runner_config

pytestmark = pytest.mark.integration

NONE = {"key": "GIT_STRATEGY", "value": "none"}


def test_file_variables_are_files_during_the_job_and_gone_afterwards(world: World) -> None:
    body = payload(world, ['echo "path=$KUBECONFIG"', 'echo "content=$(cat "$KUBECONFIG")"',
                           'stat -c "mode=%a" "$KUBECONFIG"'],
                   after_script=['echo "after=$(cat "$KUBECONFIG")"'],
                   variables=[NONE, {"key": "KUBECONFIG", "value": "apiVersion: v1", "file": True}])
    result, log = run_job(world, body)
    path = f"{project_dir(world)}.tmp/KUBECONFIG"
    assert result.state == "success"
    assert f"path={path}\n" in log
    assert "content=apiVersion: v1\n" in log and "mode=600\n" in log
    assert "after=apiVersion: v1\n" in log
    assert not (project_dir(world).parent / (project_dir(world).name + ".tmp") / "KUBECONFIG").exists()


def test_masked_values_never_reach_the_log(world: World) -> None:
    secret = "Sup3r-s3cret-Value"
    body = payload(world, ["echo \"the secret is $DEPLOY_TOKEN\"",
                           "printf '%s' \"$DEPLOY_TOKEN\" | rev | rev", "echo \"$DEPLOY_TOKEN\" >&2"],
                   after_script=['echo "after $DEPLOY_TOKEN"'],
                   variables=[NONE, {"key": "DEPLOY_TOKEN", "value": secret, "masked": True}])
    result, log = run_job(world, body)
    assert result.state == "success"
    assert secret not in log
    assert "the secret is [MASKED]\n" in log and "after [MASKED]\n" in log


def test_masked_file_variable_content_is_masked_too(world: World) -> None:
    secret = "file-held-s3cret-42"
    body = payload(world, ['cat "$CREDS"'],
                   variables=[NONE, {"key": "CREDS", "value": secret, "masked": True, "file": True}])
    _, log = run_job(world, body)
    assert secret not in log and "[MASKED]" in log


def test_token_prefixes_from_the_payload_are_masked(world: World) -> None:
    body = payload(world, ["echo acmetok-abcdef123456", "echo glpat-0123456789abcdefghij"], variables=[NONE])
    body["features"]["token_mask_prefixes"] = ["acmetok-"]
    _, log = run_job(world, body)
    assert "abcdef123456" not in log and "0123456789abcdefghij" not in log


def test_runner_environment_and_job_variables_reach_the_script_in_precedence_order(world: World) -> None:
    runner = runner_config(environment=["FROM_RUNNER=runner", "SHARED=runner"])
    script = ['echo "$FROM_RUNNER $SHARED $FROM_JOB"', 'echo "ci=$CI_SERVER $CI_SHARED_ENVIRONMENT"',
              'echo "timeout=$CI_JOB_TIMEOUT concurrent=$CI_CONCURRENT_ID/$CI_CONCURRENT_PROJECT_ID"']
    body = payload(world, script, variables=[NONE, {"key": "SHARED", "value": "job"},
                                             {"key": "FROM_JOB", "value": "$SHARED!"}])
    result, log = run_job(world, body, runner=runner, concurrent_id=5, concurrent_project_id=2)
    assert result.state == "success"
    assert "runner job job!\n" in log
    assert "ci=yes true\n" in log
    assert "timeout=120 concurrent=5/2\n" in log


def test_a_missing_job_timeout_means_two_hours(world: World) -> None:
    body = payload(world, ['echo "timeout=$CI_JOB_TIMEOUT"'], variables=[NONE])
    body["runner_info"] = {}
    _, log = run_job(world, body)
    assert "timeout=7200\n" in log
