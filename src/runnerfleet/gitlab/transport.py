"""The HTTP connection to GitLab: TLS context, certs-dir lookup, proxy, and error translation.

Builds one httpx client for one GitLab URL the way gitlab-runner builds its transport
(network/client.go): TLS ≥ 1.2, CA and client certificate from the `tls-*` settings or the
certs directory (re-read when those files change), the proxy from the environment (Go's rules,
see proxy.py), and turns every failure to get an HTTP answer into a one-line TransportError.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from runnerfleet.errors import ProxyError, TLSVerificationError, TransportError
from runnerfleet.gitlab.models import TLSSettings
from runnerfleet.gitlab.proxy import ProxyChoice, proxy_for_url
from runnerfleet.gitlab.wire import WirePool

_Snapshot = tuple[tuple[str, float | None], ...]


@dataclass
class TLSFiles:
    """The certificate files that apply to one host, and which of them exist."""

    host: str
    ca_candidates: list[Path] = field(default_factory=list)
    ca_used: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    env_ca: Path | None = None

    def snapshot(self) -> _Snapshot:
        """(path, mtime or None) of every file that decides the TLS setup, to notice changes."""
        paths = [*self.ca_candidates, *(p for p in (self.cert, self.key, self.env_ca) if p)]
        return tuple((str(p), _mtime(p)) for p in paths)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def find_tls_files(host: str, tls: TLSSettings, env: Mapping[str, str]) -> TLSFiles:
    """Which CA and client certificate gitlab-runner would use for `host` (no port)."""
    files = TLSFiles(host=host)
    certs_dir = tls.certs_dir
    if tls.ca_file:
        files.ca_candidates.append(Path(tls.ca_file))
    elif certs_dir is not None:
        files.ca_candidates.append(certs_dir / f"{host}.crt")
    files.ca_used = next((p for p in files.ca_candidates if p.is_file()), None)
    if tls.cert_file and tls.key_file:
        files.cert, files.key = Path(tls.cert_file), Path(tls.key_file)
    elif certs_dir is not None:
        cert, key = certs_dir / f"{host}.auth.crt", certs_dir / f"{host}.auth.key"
        if cert.is_file() and key.is_file():
            files.cert, files.key = cert, key
    if env.get("SSL_CERT_FILE"):
        files.env_ca = Path(env["SSL_CERT_FILE"])
    return files


def build_ssl_context(files: TLSFiles, url: str) -> ssl.SSLContext:
    """System trust store plus the host's CA file, TLS ≥ 1.2, client certificate if configured."""
    ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if files.env_ca is not None and files.env_ca.is_file():
        _load_ca(ctx, files.env_ca, url, "SSL_CERT_FILE")
    if files.ca_used is not None:
        # Added to the system store, not replacing it, as gitlab-runner does.
        _load_ca(ctx, files.ca_used, url, "CA file")
    if files.cert is not None and files.key is not None:
        try:
            ctx.load_cert_chain(str(files.cert), str(files.key))
        except (OSError, ssl.SSLError) as exc:
            raise TLSVerificationError(
                f"cannot load the client certificate {files.cert} with key {files.key} for "
                f"{files.host}: {_reason(exc)}; check tls-cert-file/tls-key-file (PEM, matching "
                "pair)",
                url=url,
            ) from None
    return ctx


def _load_ca(ctx: ssl.SSLContext, path: Path, url: str, what: str) -> None:
    try:
        ctx.load_verify_locations(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise TLSVerificationError(
            f"{what} {path} is not a valid PEM certificate file ({_reason(exc)}); put the CA "
            "certificate(s) there in PEM form (-----BEGIN CERTIFICATE-----)",
            url=url,
        ) from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        cur = todo.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        todo.extend([cur.__cause__, cur.__context__, *(a for a in cur.args
                                                      if isinstance(a, BaseException))])


_DEFAULT_HEADERS: list[tuple[str, str]] | None = None
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=5.0)
# Parsed request URLs by (URL, query parameters): a job's calls repeat the same few URLs, and
# parsing one costs more than the rest of building the request.
_URL_CACHE_SIZE = 512
# Path segments and query words that URL parsing leaves exactly as they are (no dot segments,
# nothing to percent-encode).
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_~-]+(?:/[A-Za-z0-9_~-]+)*")
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_.~-]+")


def _default_headers() -> list[tuple[str, str]]:
    """The headers an httpx Client adds to every request (Accept, Accept-Encoding, Connection,
    User-Agent), read once from a Client that never opens a connection."""
    global _DEFAULT_HEADERS
    if _DEFAULT_HEADERS is None:
        with httpx.Client(transport=httpx.BaseTransport()) as probe:
            # `raw` keeps the names' case, as a copy of the Headers object would.
            _DEFAULT_HEADERS = [(name.decode("ascii"), value.decode("ascii"))
                                for name, value in probe.headers.raw]
    return _DEFAULT_HEADERS


def merged_headers(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    """The client defaults with `headers` applied as httpx merges them (`Headers.update`): the
    defaults not named in `headers` (any case), then `headers` in their order."""
    given = {name.lower() for name in headers}
    merged = [item for item in _default_headers() if item[0].lower() not in given]
    merged.extend(headers.items())
    return merged


class Transport:
    """One httpx client for one GitLab base URL; `send` returns a response or raises TransportError."""

    def __init__(
        self,
        base_url: str,
        *,
        tls: TLSSettings,
        env: Mapping[str, str],
        timeout: float,
    ) -> None:
        self.base_url = base_url
        parts = urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.tls = tls
        self.env = dict(env)
        self.timeout = timeout
        self.proxy: ProxyChoice | None = proxy_for_url(base_url, self.env)
        if self.proxy is not None:
            try:
                proxy_parts = urlsplit(self.proxy.url)
                valid = bool(proxy_parts.hostname) and proxy_parts.port != 0
            except ValueError:
                valid = False
            if not valid:
                raise ProxyError(
                    f"the proxy {self._proxy_name()} for {base_url} is not a valid URL; set "
                    f"{self.proxy.source} to e.g. http://proxy.example.com:3128",
                    url=base_url,
                )
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 30.0)).as_dict()
        self.files = find_tls_files(self.host, tls, self.env)
        self._snapshot = self.files.snapshot()
        self._urls: dict[tuple[str, tuple[tuple[str, str], ...]], httpx.URL] = {}
        self._base_path = httpx.URL(base_url).raw_path.decode("ascii")
        self._wire: WirePool | None = None
        self._client = self._build()

    def _build(self) -> httpx.HTTPTransport:
        # An http:// GitLab is never spoken to over TLS (no redirects are followed; an https
        # proxy has its own context): no CA bundle to load (~40 ms of CPU per client).
        verify: ssl.SSLContext | bool = (
            build_ssl_context(self.files, self.base_url) if self.https else False
        )
        if self.proxy is None:
            # Direct connections take the lean path (wire.py); httpx's transport stays for
            # proxies (CONNECT tunnels, proxy auth) and is never used otherwise.
            old_wire, self._wire = self._wire, WirePool(
                httpx.URL(self.base_url),
                ssl_context=verify if isinstance(verify, ssl.SSLContext) else None,
                timeout=self._timeout, max_idle=_LIMITS.max_keepalive_connections or 100,
                keepalive_expiry=_LIMITS.keepalive_expiry or 5.0,
            )
            if old_wire is not None:
                old_wire.close()
        try:
            # httpx's transport without its Client: requests go straight to the connection
            # pool, without the Client's per-request URL/header merging, cookie jar and
            # redirect/auth loops (none of which a GitLab API call uses: no redirects are
            # followed and, as in gitlab-runner, no cookies are kept).
            return httpx.HTTPTransport(
                verify=verify,
                proxy=httpx.Proxy(self.proxy.url) if self.proxy else None,
                # The proxy and CA rules are ours (Go's); httpx must not apply its own env rules.
                trust_env=False,
                # Every connection may stay alive: the pool never closes a surplus idle one,
                # which could be one it has just handed to a waiting request of another
                # worker (httpcore: the request then fails with EBADF or hangs).
                limits=_LIMITS,
            )
        except (ImportError, ValueError, httpx.InvalidURL) as exc:
            # A socks5:// proxy needs the optional socksio package; a malformed value is unusable.
            assert self.proxy is not None
            raise ProxyError(
                f"cannot use the proxy {self._proxy_name()} for {self.base_url}: "
                f"{self._scrub(str(exc))}; use an http:// proxy or fix {self.proxy.source}",
                url=self.base_url,
            ) from None

    def _refresh(self) -> None:
        # gitlab-runner rebuilds its transport when a CA/cert file appears or changes, so a
        # long-running process picks up a certificate dropped into the certs dir.
        files = find_tls_files(self.host, self.tls, self.env)
        snapshot = files.snapshot()
        if snapshot != self._snapshot or files.ca_used != self.files.ca_used:
            self.files, self._snapshot = files, snapshot
            old, self._client = self._client, self._build()
            old.close()

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None,
        params: Mapping[str, str] | None,
    ) -> httpx.Response:
        """One HTTP exchange; a 407 from the proxy and every failure to get an answer raise."""
        if self.https:
            self._refresh()
        wire = self._wire
        try:
            if wire is not None:
                response = wire.exchange(method, self._target(url, params),
                                         merged_headers(headers), content)
            else:
                request = httpx.Request(method, self._url(url, params),
                                        headers=merged_headers(headers), content=content,
                                        extensions={"timeout": self._timeout})
                response = self._client.handle_request(request)
                response.request = request
                try:
                    response.read()
                except BaseException:
                    response.close()
                    raise
        except httpx.HTTPError as exc:
            raise self._translate(exc, method, url) from None
        if response.status_code == 407 and self.proxy is not None:
            response.close()
            raise ProxyError(
                f"{method} {url}: the proxy {self._proxy_name()} refused the request with 407 "
                "Proxy Authentication Required; check the user and password in "
                f"{self.proxy.source}",
                url=url,
            )
        return response

    def _target(self, url: str, params: Mapping[str, str] | None) -> bytes:
        """The request target (path and query) of `url`, as httpx would encode it.

        An API path under the base URL made of plain segments, with plain query values, needs
        no parsing (each job's calls have URLs of their own); anything else is parsed."""
        rest = url[len(self.base_url):] if url.startswith(self.base_url) else None
        if rest is not None and _PLAIN_PATH.fullmatch(rest) and all(
                _PLAIN_WORD.fullmatch(k) and _PLAIN_WORD.fullmatch(v)
                for k, v in (params or {}).items()):
            target = self._base_path + rest
            if params:
                target += "?" + "&".join(f"{k}={v}" for k, v in params.items())
            return target.encode("ascii")
        return self._url(url, params).raw_path

    def _url(self, url: str, params: Mapping[str, str] | None) -> httpx.URL:
        """The parsed URL with `params` merged into its query, as httpx.Request would make it."""
        key = (url, tuple(params.items()) if params else ())
        parsed = self._urls.get(key)
        if parsed is None:
            parsed = httpx.URL(url)
            if params:
                parsed = parsed.copy_merge_params(dict(params))
            if len(self._urls) >= _URL_CACHE_SIZE:
                self._urls.clear()
            self._urls[key] = parsed
        return parsed

    def _proxy_name(self) -> str:
        assert self.proxy is not None
        return f"{self.proxy.masked} (from {self.proxy.source})"

    def _scrub(self, text: str) -> str:
        # Defence in depth: no library message may carry the proxy password out.
        if self.proxy is not None:
            password = urlsplit(self.proxy.url).password
            if password:
                text = text.replace(password, "***")
        return text

    def _translate(self, exc: httpx.HTTPError, method: str, url: str) -> TransportError:
        where = f"{method} {url}"
        chain = list(_chain(exc))
        verify = next((e for e in chain if isinstance(e, ssl.SSLCertVerificationError)), None)
        if verify is not None or "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return TLSVerificationError(self._tls_message(where, verify, exc), url=url)
        if isinstance(exc, httpx.ProxyError) and self.proxy is not None:
            detail = self._scrub(str(exc)) or type(exc).__name__
            hint = (
                f"check the user and password in {self.proxy.source}"
                # tinyproxy 1.11 answers a failed proxy login with 401, not 407.
                if detail.startswith(("407", "401"))
                else "check the proxy and whether it may reach "
                f"{self.host}, or add the host to NO_PROXY"
            )
            return ProxyError(
                f"{where}: the proxy {self._proxy_name()} refused the tunnel: {detail}; {hint}",
                url=url,
            )
        if isinstance(exc, httpx.TimeoutException):
            return TransportError(
                f"{where}: no answer within {self.timeout:g} s"
                + (f" through the proxy {self._proxy_name()}" if self.proxy else "")
                + "; check that GitLab is up and reachable from this host",
                url=url,
            )
        reason = self._scrub(_connect_reason(chain, exc))
        if self.proxy is not None and isinstance(exc, httpx.ConnectError):
            return ProxyError(
                f"{where}: cannot reach the proxy {self._proxy_name()}: {reason}; check "
                f"{self.proxy.source} or add {self.host} to NO_PROXY",
                url=url,
            )
        if any(isinstance(e, socket.gaierror) for e in chain) or "Name or service" in reason:
            return TransportError(
                f"{where}: cannot resolve the host {self.host} ({reason}); check the GitLab URL "
                "and DNS",
                url=url,
            )
        if isinstance(exc, httpx.ConnectError):
            return TransportError(
                f"{where}: cannot connect to {urlsplit(url).netloc} ({reason}); check the "
                "GitLab URL and that GitLab is reachable from this host",
                url=url,
            )
        return TransportError(
            f"{where}: the connection failed ({reason}); check that GitLab is reachable",
            url=url,
        )

    def _tls_message(
        self, where: str, verify: ssl.SSLCertVerificationError | None, exc: BaseException
    ) -> str:
        reason = verify.verify_message if verify is not None and verify.verify_message else str(exc)
        tried: list[str] = []
        for path in self.files.ca_candidates:
            tried.append(str(path) if path.is_file() else f"{path} (does not exist)")
        if self.files.env_ca is not None:
            tried.append(f"SSL_CERT_FILE {self.files.env_ca}")
        tried.append("the system trust store")
        target = (
            str(self.tls.certs_dir / f"{self.host}.crt")
            if self.tls.certs_dir is not None
            else f"<config dir>/certs/{self.host}.crt"
        )
        return (
            f"{where}: TLS verification of {self.host} failed ({reason}); CA files tried: "
            f"{', '.join(tried)}; put the CA certificate of {self.host} in {target} or set "
            "tls-ca-file in [[runners]] / --tls-ca-file"
        )

    def close(self) -> None:
        if self._wire is not None:
            self._wire.close()
        self._client.close()


def _connect_reason(chain: list[BaseException], exc: BaseException) -> str:
    for e in chain:
        if isinstance(e, socket.gaierror):
            return e.strerror or str(e)
        if isinstance(e, OSError) and e.errno is not None:
            return e.strerror or os.strerror(e.errno)
    text = str(exc)
    if "Errno" in text and "]" in text:
        text = text.split("]", 1)[1].strip()
    if not text:
        text = type(exc).__name__
    return text

