"""JobVariables: later-wins lookup and gitlab-runner's `$VAR`/`${VAR}` expansion rules."""

from __future__ import annotations

import pytest

from runnerfleet.job import JobVariables, Variable


def _vars(*pairs: tuple[str, str]) -> JobVariables:
    return JobVariables(Variable(k, v, public=True) for k, v in pairs)


def test_get_returns_the_last_occurrence_of_a_key() -> None:
    variables = _vars(("A", "first"), ("B", "b"), ("A", "second"))
    assert variables.get("A") == "second"
    assert variables.get("MISSING") == ""
    assert variables.get("MISSING", "dflt") == "dflt"
    assert "B" in variables and "C" not in variables
    assert len(variables) == 3 and variables[0].value == "first"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$A", "alpha"),
        ("${A}", "alpha"),
        ("x${A}y", "xalphay"),
        ("$A_B", "ab"),
        ("$A-x", "alpha-x"),
        ("$UNKNOWN", ""),
        ("a${UNKNOWN}b", "ab"),
        ("$$A", "$A"),
        ("$$", "$"),
        ("cost: 5$", "cost: 5$"),
        ("$", "$"),
        ("$1 $? $* $#", "$1 $? $* $#"),
        ("${1}", "$1"),
        ("${}", ""),
        ("a${A", "aA"),
        ("$ A", "$ A"),
        ("$/path", "$/path"),
        ("no dollars", "no dollars"),
        ("${A}${A_B}", "alphaab"),
    ],
)
def test_expand_follows_gitlab_runner_rules(text: str, expected: str) -> None:
    assert _vars(("A", "alpha"), ("A_B", "ab")).expand(text) == expected


def test_expand_uses_the_last_value_of_a_key() -> None:
    assert _vars(("A", "1"), ("A", "2")).expand("$A") == "2"


def test_raw_variables_keep_their_dollars_but_others_expand_against_the_list() -> None:
    variables = JobVariables(
        [
            Variable("HOST", "gitlab.test"),
            Variable("URL", "https://$HOST/x"),
            Variable("PATTERN", "$HOST-$NOPE", raw=True),
            Variable("USES_RAW", "[$PATTERN]"),
        ]
    ).expanded()
    assert variables.get("URL") == "https://gitlab.test/x"
    assert variables.get("PATTERN") == "$HOST-$NOPE"
    # The raw value is substituted as it is, its own references are not expanded again.
    assert variables.get("USES_RAW") == "[$HOST-$NOPE]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$A", "alpha"),
        ("x${A}y", "xalphay"),
        ("$UNKNOWN", ""),
        ("$$A", "$A"),
        ("cost: 5$", "cost: 5$"),
        ("$1 $? $* $#", "$1 $? $* $#"),
        ("${1}", "$1"),
        ("${}", ""),
        ("a${A", "aA"),
        ("${A}${A_B}", "alphaab"),
    ],
)
def test_expanded_values_follow_the_same_rules_as_expand(text: str, expected: str) -> None:
    variables = _vars(("A", "alpha"), ("A_B", "ab"), ("T", text))
    assert variables.expanded().get("T") == expected == variables.expand(text)


def test_expanded_uses_the_last_value_of_a_key_for_every_reference() -> None:
    variables = _vars(("A", "1"), ("X", "$A"), ("A", "2"), ("Y", "${A}$A")).expanded()
    assert [(v.key, v.value) for v in variables] == [("A", "1"), ("X", "2"), ("A", "2"), ("Y", "22")]


def test_expanded_copies_only_the_variables_whose_value_changes() -> None:
    plain = Variable("PLAIN", "no references", masked=True)
    raw = Variable("RAW", "$PLAIN", raw=True)
    same = Variable("SAME", "cost: 5$ and $1")
    changed = Variable("CHANGED", "[$PLAIN]", public=True, file=True)
    variables = JobVariables([plain, raw, same, changed])
    result = variables.expanded()
    assert result[0] is plain and result[1] is raw and result[2] is same
    assert result[3] == Variable("CHANGED", "[no references]", public=True, file=True)
    assert variables[3] is changed  # the original list is left as it was
    result.append(Variable("NEW", "x"))
    assert len(variables) == 4  # the copy is a list of its own
