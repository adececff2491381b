"""Token generation, hashing and shortening in GitLab's formats."""

from __future__ import annotations

import hashlib
import os
import secrets
import string
import time

from runnerfleet.tokens import shorten_token as runner_short_token

# GitLab's `Devise.friendly_token` alphabet: URL-safe base64 characters.
_ALPHABET = string.ascii_letters + string.digits + "-_"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

PAT_PREFIX = "glpat-"
# "GR" + the registration-token rotation date 20220225 in hex, as GitLab prefixes runners tokens.
REGISTRATION_TOKEN_PREFIX = "GR1348941"
CREATED_RUNNER_TOKEN_PREFIX = "glrt-"

RUNNER_TYPE_NUMBERS = {"instance_type": 1, "group_type": 2, "project_type": 3}

# Prefixes gitlab-runner strips before keeping the first characters of a token for logs.
_SHORT_LENGTH = 9


def _random(length: int = 20) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_personal_access_token() -> str:
    return PAT_PREFIX + _random()


def new_registration_token() -> str:
    return REGISTRATION_TOKEN_PREFIX + _random()


def new_runner_token(runner_type: str, *, created: bool) -> str:
    """`glrt-t1_…` for runners created with a PAT, `t1_…` for runners registered with a token."""
    partition = f"t{RUNNER_TYPE_NUMBERS.get(runner_type, 1)}_"
    if created:
        return CREATED_RUNNER_TOKEN_PREFIX + partition + _random()
    return partition + _random()


def new_queue_value() -> str:
    """32 lowercase hex characters, like GitLab's runner queue values."""
    return secrets.token_hex(16)


# Two Crockford digits per 10 bits: a ULID's 130 bits are 13 lookups, not 26 shifts.
_DIGIT_PAIRS = [_CROCKFORD[i >> 5] + _CROCKFORD[i & 31] for i in range(1024)]


def new_request_id() -> str:
    """A ULID (26 Crockford base32 characters), the form GitLab's correlation ids take."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join([_DIGIT_PAIRS[(value >> shift) & 1023] for shift in range(120, -1, -10)])


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def shorten_token(token: str) -> str:
    """The part of a token that may appear in logs, shortened as gitlab-runner does.

    Tokens too short to shorten safely are replaced entirely.
    """
    short = runner_short_token(token.removeprefix("glpat-"))
    if len(token) < 2 * len(short) or len(short) < _SHORT_LENGTH:
        return "[MASKED]"
    return short


def random_token(length: int = 20) -> str:
    """Random characters of GitLab's token alphabet (for job tokens after `glcbt-`)."""
    return _random(length)
