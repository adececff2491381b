"""The values the GitLab client takes and returns: TLS settings, registrations, token resets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class TLSSettings:
    """Where the CA and client certificate for GitLab come from (`tls-*` keys, certs dir)."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    certs_dir: Path | None = None


@dataclass(frozen=True)
class RunnerRegistration:
    """GitLab's `{id, token, token_expires_at}` answer to register, create and verify."""

    id: int
    token: str
    token_expires_at: datetime | None


@dataclass(frozen=True)
class TokenReset:
    """GitLab's `{token, token_expires_at}` answer to a token reset."""

    token: str
    token_expires_at: datetime | None


def parse_expiry(value: object) -> datetime:
    """An ISO-8601 `token_expires_at` as a UTC-aware datetime; ValueError when it is not one."""
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO-8601 timestamp, got {value!r}")
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        # GitLab always sends UTC; a naive value can only mean UTC.
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


