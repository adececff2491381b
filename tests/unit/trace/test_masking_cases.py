"""Masking matches gitlab-runner's own test tables (variable values, URL params, token prefixes)."""

from __future__ import annotations

import pytest

from runnerfleet.trace import token_prefixes

from .helpers import run_parts, run_split

PHRASE_CASES = [
    ("empty secrets have no affect", [""], "empty secrets have no affect"),
    ("secrets", ["secrets"], "[MASKED]"),
    ("secret|s", ["secrets"], "[MASKED]"),
    ("s|ecrets", ["secrets"], "[MASKED]"),
    ("secretssecrets", ["secrets"], "[MASKED][MASKED]"),
    ("s|secrets", ["secrets"], "s[MASKED]"),
    ("all values are masked", ["all", "values", "are", "masked"], "[MASKED] [MASKED] [MASKED] [MASKED]"),
    (
        "prefix|ed, su|ffi|xed |and split|:| xfo|ox y|bary ffo|o ba|rr ffooo b|barr",
        ["foo", "bar"],
        "prefixed, suffixed and split: x[MASKED]x y[MASKED]y f[MASKED] [MASKED]r f[MASKED]o b[MASKED]r",
    ),
    (
        "prefix_mask mask prefix_|mask prefix_ma|sk mas|k",
        ["mask", "prefix_mask"],
        "[MASKED] [MASKED] [MASKED] [MASKED] [MASKED]",
    ),
    ("large secret: " + "_" * 8000 + "|" + "_" * 8000, ["_" * 16000], "large secret: [MASKED]"),
    (
        "overlap: this is the en| foobar",
        ["this is the end", "en foobar", "en"],
        "overlap: this is the [MASKED]",
    ),
    # gitlab-runner trims masked values before matching.
    ("value with spaces: abc ", ["  abc  "], "value with spaces: [MASKED] "),
]


@pytest.mark.parametrize(("text", "values", "expected"), PHRASE_CASES)
def test_masked_variable_values_are_replaced_like_gitlab_runner(
    text: str, values: list[str], expected: str
) -> None:
    assert run_split(text, masked=values) == expected


def test_a_secret_inside_a_repeated_prefix_is_still_masked() -> None:
    # gitlab-runner's restart-on-first-byte matcher misses "aab" inside "aaab"; we do not.
    assert run_split("a|a|a|b!", masked=["aab"]) == "a[MASKED]!"


URL_CASES = [
    (
        "no escaping at all http://example.org/?test=foobar",
        "no escaping at all http://example.org/?test=foobar",
    ),
    (
        "multiple: &private_token=hello &?x-amz-security-token=hello &?x-amz-security-token=hello "
        "?x-amz-security?x-amz-security-token=hello",
        "multiple: &private_token=[MASKED] &?x-amz-security-token=[MASKED] &?x-amz-security-token=[MASKED] "
        "?x-amz-security?x-amz-security-token=[MASKED]",
    ),
    (
        "above known key size: http://example.org/?this-is-a-really-really-long-key-name=foobar",
        "above known key size: http://example.org/?this-is-a-really-really-long-key-name=foobar",
    ),
    (
        "a sensitive URL http://example.com/?X-AMZ-sigNATure=deadbeef with mixed case",
        "a sensitive URL http://example.com/?X-AMZ-sigNATure=[MASKED] with mixed case",
    ),
    (
        "a sensitive URL http://example.com/?rss_token=hide&x-amz-credential=deadbeef both params",
        "a sensitive URL http://example.com/?rss_token=[MASKED]&x-amz-credential=[MASKED] both params",
    ),
    (
        "a really long sensitive URL http://example.com/?x-amz-credential="
        + "0" * 8192
        + " that is still scrubbed",
        "a really long sensitive URL http://example.com/?x-amz-credential=[MASKED] that is still scrubbed",
    ),
    (
        "spl|it sensit|ive UR|L http://example.com/?x-amz-cred|ential=abcdefghij|klmnopqrstuvwxyz01234567",
        "split sensitive URL http://example.com/?x-amz-credential=[MASKED]",
    ),
    (
        "newline: http://example.com/?x-amz-credential=abc\nhttp://example.com/?x-amz-credential=abc",
        "newline: http://example.com/?x-amz-credential=[MASKED]\nhttp://example.com/?x-amz-credential=[MASKED]",
    ),
    (
        "control character: http://example.com/?x-amz-credential=abc\bhttp://example.com/?x-amz-credential=abc",
        "control character: http://example.com/?x-amz-credential=[MASKED]\bhttp://example.com/?x-amz-credential=[MASKED]",
    ),
    (
        "rss_token=notmasked http://example.com/?rss_token=!@#$A&x-amz-credential=abc&test=test",
        "rss_token=notmasked http://example.com/?rss_token=[MASKED]&x-amz-credential=[MASKED]&test=test",
    ),
    (
        "query string with no value: http://example.com/?x-amz-credential=&private_token=gitlab",
        "query string with no value: http://example.com/?x-amz-credential=[MASKED]&private_token=[MASKED]",
    ),
    (
        "invalid URL with double ?: http://example.com/?x-amz-credential=abc??private_token=gitlab",
        "invalid URL with double ?: http://example.com/?x-amz-credential=[MASKED]??private_token=[MASKED]",
    ),
    (
        "split after ?: http://example.com/|?||x-amz-cre|dential=abc",
        "split after ?: http://example.com/?x-amz-credential=[MASKED]",
    ),
    (
        "interweaved tokens: ?|one ?x-amz-credential=abc two=three "
        "?|one=two &token &x-amz-credential=abc =token ?=",
        "interweaved tokens: ?one ?x-amz-credential=[MASKED] two=three "
        "?one=two &token &x-amz-credential=[MASKED] =token ?=",
    ),
    ("terminated before mask: ?x-|", "terminated before mask: ?x-"),
    ("terminated before mask: ?x-amz-credential=|", "terminated before mask: ?x-amz-credential=[MASKED]"),
    (
        "unicode space ends a value: ?private_token=ab\u00a0rest",
        "unicode space ends a value: ?private_token=[MASKED]\u00a0rest",
    ),
]


@pytest.mark.parametrize(("text", "expected"), URL_CASES)
def test_sensitive_url_parameters_are_masked_like_gitlab_runner(text: str, expected: str) -> None:
    assert run_split(text) == expected


def test_a_unicode_space_split_between_writes_still_ends_the_masked_value() -> None:
    parts = [b"?private_token=ab\xc2", b"\xa0rest"]
    assert run_parts(parts) == b"?private_token=[MASKED]\xc2\xa0rest"


TOKEN_CASES = [
    (
        [],
        "Lorem ipsum dolor sit amet, ex ea commodo glpat-imperdiet in voluptate velit esse",
        "Lorem ipsum dolor sit amet, ex ea commodo glpat-[MASKED] in voluptate velit esse",
    ),
    ([], "esseglpat-imperdiet=_-. end Lorem", "esseglpat-[MASKED] end Lorem"),
    ([], "glpat-impglpat-erdiet Lorem ipsum", "glpat-[MASKED] Lorem ipsum"),
    (
        [],
        "glpat|-imperdiet Lorem ipsum dolor sit amet, ex ea commodo gl|pat-imperdiet in voluptate",
        "glpat-[MASKED] Lorem ipsum dolor sit amet, ex ea commodo glpat-[MASKED] in voluptate",
    ),
    ([], "glpat| -imperdiet Lorem ipsum dolor sit amet", "glpat -imperdiet Lorem ipsum dolor sit amet"),
    (
        [],
        "Lorglpat-ipsu dolor sit amglp|at-t, consglpat-ctg|lpat-tur adipiscing glpat-lit, sglpat-|d do "
        "glpat-iusmod t|glpat-mpor incididunt ut |laborglpat-=_ glpat-t dolorglpat-=_ magna aliqua.",
        "Lorglpat-[MASKED] dolor sit amglpat-[MASKED], consglpat-[MASKED] adipiscing glpat-[MASKED], "
        "sglpat-[MASKED] do glpat-[MASKED] tglpat-[MASKED] incididunt ut laborglpat-[MASKED] glpat-[MASKED] "
        "dolorglpat-[MASKED] magna aliqua.",
    ),
    (
        ["tok-"],
        "Lortok-ipsu dolor sit amt|ok-t, cons-ctg|lpat-tur adipiscing tok-lit, stok-|d gltok-test do "
        "tok-iusmod t|tok-mpor incididunt ut |labortok-=_ tok-t dolortok-=_ magna aliqua. Tglpat-llus orci "
        "ac auctor auguglpat-eee mauris auguglpat-wEr_ lorem",
        "Lortok-[MASKED] dolor sit amtok-[MASKED], cons-ctglpat-[MASKED] adipiscing tok-[MASKED], "
        "stok-[MASKED] gltok-[MASKED] do tok-[MASKED] ttok-[MASKED] incididunt ut labortok-[MASKED] "
        "tok-[MASKED] dolortok-[MASKED] magna aliqua. Tglpat-[MASKED] orci ac auctor auguglpat-[MASKED] "
        "mauris auguglpat-[MASKED] lorem",
    ),
    (
        [
            "mask1-",
            "mask2-",
            "mask3-",
            "mask4-",
            "mask5-",
            "mask6-",
            "mask7-",
            "mask8-",
            "mask9-",
            "mask10-",
            "mask11-",
        ],
        "Lormask1-ipsu dolor sit amm|ask2-t, cons-ctg|lpat-tur adipiscing mask5-lit, "
        "smask11-|d do mask7-iusmod t|glpat-mpor incididunt ut |labormask10-=_ mask9-t",
        "Lormask1-[MASKED] dolor sit ammask2-[MASKED], cons-ctglpat-[MASKED] adipiscing mask5-[MASKED], "
        "smask11-d do mask7-iusmod tglpat-[MASKED] incididunt ut labormask10-=_ mask9-t",
    ),
    ([], "runner glrt-abc_DEF.1=2 registered", "runner glrt-[MASKED] registered"),
    ([], "cookie _gitlab_session=0123abcd; path", "cookie _gitlab_session=[MASKED]; path"),
    ([], "prefix alone at the end glpat-", "prefix alone at the end glpat-"),
]


@pytest.mark.parametrize(("extra", "text", "expected"), TOKEN_CASES)
def test_token_prefixes_keep_the_prefix_and_mask_the_token(
    extra: list[str], text: str, expected: str
) -> None:
    assert run_split(text, token_mask_prefixes=extra) == expected


def test_only_glpat_is_masked_when_mask_all_default_tokens_is_off() -> None:
    text = "glpat-aaa glrt-bbb gldt-ccc"
    assert run_split(text, mask_all_default_tokens=False) == "glpat-[MASKED] glrt-bbb gldt-ccc"


def test_at_most_fifteen_prefixes_are_used_shortest_first() -> None:
    prefixes = token_prefixes([f"x{i}-" for i in range(5)])
    assert len(prefixes) == 15
    # The longest default prefixes are the ones dropped, as in gitlab-runner.
    assert b"_gitlab_session=" not in prefixes
    assert b"glpat-" in prefixes


def test_masking_stages_apply_in_order_values_then_urls_then_tokens() -> None:
    text = "clone https://x/?private_token=SECRETVALUE&a=1 glpat-SECRETVALUE and SECRETVALUE\n"
    assert (
        run_split(text, masked=["SECRETVALUE"])
        == "clone https://x/?private_token=[MASKED]&a=1 glpat-[MASKED] and [MASKED]\n"
    )


def test_a_short_secret_inside_the_held_tail_is_masked_at_the_end_of_the_log() -> None:
    # "abc" is held back as the start of "abcd"; when the log ends there, "bc" is still a secret.
    assert run_split("xab|c", masked=["abcd", "bc"]) == "xa[MASKED]"
    assert run_split("build s3cr3t-val", masked=["s3cr3t-value", "s3cr3t"]) == "build [MASKED]-val"


def test_a_short_secret_inside_the_held_tail_is_masked_when_the_masked_values_change() -> None:
    from runnerfleet.trace import TraceBuffer

    with TraceBuffer(masked=["abcd", "bc"], timestamps=False) as buffer:
        buffer.write(b"xabc")
        buffer.set_masked(["other"])
        buffer.write(b"d bc\n")
        buffer.finish()
        assert buffer.bytes_since(0) == b"xa[MASKED]d bc\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("get /x?PRIVATE_TO|KEN=abc def\n", "get /x?PRIVATE_TOKEN=[MASKED] def\n"),
        ("get /x&X-AMZ-|Credential=abc\n", "get /x&X-AMZ-Credential=[MASKED]\n"),
        ("get /x?|private_token=abc\n", "get /x?private_token=[MASKED]\n"),
        ("say s3cr|3t-value now\n", "say [MASKED] now\n"),
        ("say _gitlab_ses|sion=abc\n", "say _gitlab_session=[MASKED]\n"),
    ],
)
def test_a_write_ending_inside_a_key_secret_or_token_prefix_is_held_until_the_next(
    text: str, expected: str
) -> None:
    assert run_split(text, masked=["s3cr3t-value"]) == expected
