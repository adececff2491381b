"""`rules:exists` and `include: local` see the files of the pipeline's commit."""

from __future__ import annotations

from tests.integration.pipelines.conftest import Fleet

EXISTS = """
docker:
  rules: [{exists: [Dockerfile]}]
  script: [echo docker]
helm:
  rules: [{exists: ["charts/**/Chart.yaml"]}]
  script: [echo helm]
npm:
  rules: [{exists: [package.json]}]
  script: [echo npm]
"""


def test_rules_exists_matches_the_commits_files_without_an_include(fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": EXISTS, "Dockerfile": "FROM scratch\n",
                "charts/app/Chart.yaml": "name: app\n"})
    created = fleet.create()
    assert created.status_code == 201, created.text
    assert set(fleet.jobs(created.json()["id"])) == {"docker", "helm"}


def test_include_local_and_exists_together(fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": "include: {local: ci/jobs.yml}\n" + EXISTS,
                "ci/jobs.yml": "lint:\n  script: [echo lint]\n", "package.json": "{}\n"})
    created = fleet.create()
    assert created.status_code == 201, created.text
    assert set(fleet.jobs(created.json()["id"])) == {"lint", "npm"}


def test_include_of_a_missing_local_file_is_a_creation_error(fleet: Fleet) -> None:
    fleet.push({".gitlab-ci.yml": "include: {local: ci/nope.yml}\nbuild:\n  script: [echo]\n"})
    answer = fleet.create()
    assert answer.status_code == 400
    assert any("ci/nope.yml" in p for p in answer.json()["message"]["base"]), answer.text
