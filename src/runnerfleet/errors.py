"""The runnerfleet error hierarchy: `str(error)` is the one line a user sees."""

from __future__ import annotations


class RunnerfleetError(Exception):
    """Base of every error runnerfleet reports to a user; never shown with a traceback."""


class UsageError(RunnerfleetError):
    """A command line that cannot be carried out as given (missing or conflicting flags)."""


class ConfigError(RunnerfleetError):
    """config.toml could not be read, parsed or validated.

    `problems` holds one line per problem, each naming the file and position or the key path
    (`config.toml:3:7: ...`, `runners[2].docker.memory: ...`); `str()` joins them.
    """

    def __init__(self, problems: list[str] | str, *, path: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.path = path
        super().__init__("\n".join(self.problems))


class TransportError(RunnerfleetError):
    """No HTTP answer was had: connection, DNS, TLS or proxy failure. Names the URL it tried."""

    def __init__(self, message: str, *, url: str = "") -> None:
        self.url = url
        super().__init__(message)


class TLSVerificationError(TransportError):
    """The server's certificate did not verify; the message lists the CA files tried and the fix."""


class ProxyError(TransportError):
    """The proxy could not be reached or refused the request; the proxy URL is named, password masked."""


class ApiError(RunnerfleetError):
    """GitLab answered with a status the call does not accept.

    Carries the endpoint, the status and GitLab's `message`, so callers can branch on `status`
    (verify treats 403 as "runner is not valid") and users see what GitLab said.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        endpoint: str = "",
        status: int = 0,
        api_message: str = "",
        request_id: str = "",
    ) -> None:
        self.method = method
        self.endpoint = endpoint
        self.status = status
        self.api_message = api_message
        self.request_id = request_id
        super().__init__(message)


class RateLimitError(ApiError):
    """GitLab kept answering 429: "gave up due to rate limit" after the allowed attempts."""
