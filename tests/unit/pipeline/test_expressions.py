"""`if:` expressions as documented in docs.gitlab.com/ee/ci/jobs/job_rules.html (CI/CD variable
expressions): null/empty semantics, ==, !=, =~, !~ with flags, &&, ||, parentheses."""

from __future__ import annotations

import pytest

from runnerfleet.pipeline.expressions import ExpressionError, evaluate, parse_expression

VARS = {"BRANCH": "main", "EMPTY": "", "PATTERN": "/^ma/"}


@pytest.mark.parametrize(("text", "expected"), [
    ("$BRANCH", True),                       # defined and non-empty
    ("$EMPTY", False),                       # empty is false
    ("$UNDEFINED", False),
    ("$UNDEFINED == null", True),            # undefined equals null
    ("$EMPTY == null", False),               # empty is not null
    ('$EMPTY == ""', True),
    ("$BRANCH == 'main'", True),
    ('$BRANCH != "main"', False),
    ("$BRANCH =~ /^MA/i", True),             # /regexp/flags
    ("$BRANCH !~ /^dev/", True),
    ("$BRANCH =~ $PATTERN", True),           # a variable holding a pattern (GitLab 15.0+)
    ('$UNDEFINED || $BRANCH == "main"', True),
    ('($BRANCH == "x" || $BRANCH == "main") && $EMPTY', False),
    ('$BRANCH == "x" || $BRANCH == "main" && $BRANCH', True),  # && binds tighter
])
def test_expression_evaluates_as_gitlab_documents(text: str, expected: bool) -> None:
    assert evaluate(text, VARS) is expected


@pytest.mark.parametrize("text", ["$A ==", "$A = 'x'", "($A", "$A =~ 'x'", "/(?=x)/"])
def test_invalid_expressions_are_syntax_errors(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_expression(text)
