"""Loading: anchors, merge keys, !reference, include: local, extends, default, hidden jobs, stages.

Expectations come from GitLab's CI YAML reference (docs.gitlab.com/ee/ci/yaml/) sections named in
each test, and `lib/gitlab/ci/config/**` of gitlabhq where a message is checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runnerfleet.pipeline.entries import load_pipeline
from runnerfleet.pipeline.errors import PipelineError
from runnerfleet.pipeline.loader import load_config


def test_anchors_and_merge_keys_are_expanded() -> None:
    # docs: "YAML-specific features" — anchors `&`, aliases `*`, merge `<<:`.
    text = """
.base: &base
  image: ruby:3
  script: [echo base]
job:
  <<: *base
  script: [echo job]
"""
    job = load_pipeline(text).job("job")
    assert job is not None
    assert job.image == {"name": "ruby:3"} and job.script == ["echo job"]


def test_reference_tag_pulls_a_key_of_another_job_into_a_nested_script() -> None:
    # docs: "!reference tags" — nested arrays in script are flattened.
    text = """
.setup:
  script: [echo one, echo two]
job:
  script:
    - !reference [.setup, script]
    - echo three
"""
    job = load_pipeline(text).job("job")
    assert job is not None and job.script == ["echo one", "echo two", "echo three"]


def test_reference_to_a_missing_key_is_reported_as_gitlab_does() -> None:
    # gitlabhq lib/gitlab/ci/config/yaml/tags/reference.rb: "... could not be found".
    with pytest.raises(PipelineError, match=r'!reference \[".x", "script"\] could not be found'):
        load_pipeline("job:\n  script: !reference [.x, script]\n")


def test_include_local_merges_files_nested_and_main_file_wins(tmp_path: Path) -> None:
    # docs: include:local — relative to the project root; nested includes; the including
    # file's keys take precedence over included ones.
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "a.yml").write_text("include: ci/b.yml\nvariables: {A: from-a, B: a}\n")
    (tmp_path / "ci" / "b.yml").write_text("build:\n  script: [make]\nvariables: {C: from-b}\n")
    config = load_config("include:\n  - local: /ci/a.yml\nvariables: {B: main}\n", root=tmp_path)
    assert config["variables"] == {"C": "from-b", "A": "from-a", "B": "main"}
    assert config["build"] == {"script": ["make"]}


def test_include_cycle_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("include: b.yml\n")
    (tmp_path / "b.yml").write_text("include: a.yml\n")
    with pytest.raises(PipelineError, match="includes itself"):
        load_config("include: a.yml\n", root=tmp_path)


def test_include_of_a_missing_file_names_it(tmp_path: Path) -> None:
    # gitlabhq config/external/file/local.rb: "Local file `%{location}` does not exist!"
    with pytest.raises(PipelineError, match=r"Local file `nope\.yml` does not exist!"):
        load_config("include: nope.yml\n", root=tmp_path)


def test_extends_multi_level_multiple_parents_deep_merges_hashes_and_replaces_arrays() -> None:
    # docs: extends — "merges hashes, arrays are overwritten"; with several parents the last wins.
    text = """
.a:
  variables: {A: a, X: a}
  tags: [one]
.b:
  extends: .a
  variables: {B: b}
  script: [b]
.c:
  variables: {X: c}
  tags: [two, three]
job:
  extends: [.b, .c]
  variables: {J: j}
"""
    job = load_pipeline(text).job("job")
    assert job is not None
    assert {k: v.value for k, v in job.variables.items()} == {"A": "a", "X": "c", "B": "b", "J": "j"}
    assert job.tags == ["two", "three"] and job.script == ["b"]


def test_extends_of_an_unknown_key_is_reported() -> None:
    # gitlabhq config/extendable/entry.rb: "%{key}: unknown key in `extends` (%{name})"
    with pytest.raises(PipelineError, match=r"job: unknown key in `extends` \(.nope\)"):
        load_pipeline("job:\n  extends: .nope\n  script: [x]\n")


def test_default_fills_keys_the_job_lacks_and_inherit_limits_it() -> None:
    # docs: default and inherit:default.
    text = """
default:
  image: alpine
  before_script: [echo default]
  tags: [docker]
a:
  script: [a]
  tags: [shell]
b:
  inherit:
    default: [image]
  script: [b]
c:
  inherit: {default: false}
  script: [c]
"""
    pipeline = load_pipeline(text)
    a, b, c = (pipeline.job(n) for n in "abc")
    assert a is not None and b is not None and c is not None
    assert a.image == {"name": "alpine"} and a.before_script == ["echo default"] and a.tags == ["shell"]
    assert b.image == {"name": "alpine"} and b.before_script is None and b.tags == []
    assert c.image is None


def test_hidden_jobs_are_not_jobs_and_default_stages_surround_pre_and_post() -> None:
    # docs: "Hide a job" and stages — default build, test, deploy; .pre first, .post last.
    pipeline = load_pipeline(".hidden:\n  script: [x]\njob:\n  script: [y]\n")
    assert [j.name for j in pipeline.jobs] == ["job"]
    assert pipeline.stages == [".pre", "build", "test", "deploy", ".post"]
    assert pipeline.jobs[0].stage == "test"


def test_malformed_yaml_reports_the_parser_position() -> None:
    with pytest.raises(PipelineError, match=r"line 3 column"):
        load_pipeline("job:\n  script: [x]\n bad: : :\n")
