"""The corpus: each `corpus/X.gitlab-ci.yml` against `corpus/X.expected.yml`.

Every expected file says, in a comment, which GitLab document or source the expectation comes
from; none was produced by running our compiler.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from runnerfleet.pipeline import CompiledJob, PipelineError, compile

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.name.removesuffix(".gitlab-ci.yml") for p in CORPUS.glob("*.gitlab-ci.yml"))


def _check_job(job: CompiledJob, want: dict[str, Any]) -> None:
    payload = job.payload
    variables = {v["key"]: v for v in payload["variables"]}
    for key, value in want.items():
        if key == "needs":
            assert [n.job for n in job.needs or []] == value
        elif key == "variables":
            assert {k: variables[k]["value"] for k in value} == value
        elif key == "raw":
            assert [k for k in value if variables[k].get("raw")] == value
        elif key == "image":
            assert payload["image"]["name"] == value
        elif key == "services":
            assert [s["name"] for s in payload["services"]] == value
        elif key == "artifact_types":
            assert [a["artifact_type"] for a in payload["artifacts"]] == value
        elif key in ("steps", "cache", "tags"):
            assert payload[key] == value
        else:
            assert getattr(job, key) == value, key


@pytest.mark.parametrize("case", CASES)
def test_corpus_case_gives_what_gitlab_gives(case: str) -> None:
    expected = yaml.safe_load((CORPUS / f"{case}.expected.yml").read_text())
    path = CORPUS / f"{case}.gitlab-ci.yml"
    args = expected.get("compile", {})
    if "errors" in expected or "error_contains" in expected:
        with pytest.raises(PipelineError) as info:
            compile(path.read_text(), **args)
        if "errors" in expected:
            assert info.value.problems == expected["errors"]
        else:
            assert expected["error_contains"] in str(info.value)
        return
    result = compile(path.read_text(), **args)
    assert result.filtered_out == expected.get("filtered_out", False)
    assert [j.name for j in result.jobs] == list(expected["jobs"])
    for name, want in expected["jobs"].items():
        job = result.job(name)
        assert job is not None
        _check_job(job, want)
