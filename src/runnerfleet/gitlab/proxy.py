"""Which proxy a request to GitLab uses, decided exactly like Go's `http.ProxyFromEnvironment`.

gitlab-runner reads its proxy from the process environment through Go's
golang.org/x/net/http/httpproxy; users copy those settings (systemd drop-ins, docs), so the same
variables must select the same proxy here, including the quirks (uppercase wins, loopback is
never proxied, a value without scheme means `http://`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

from runnerfleet.errors import ProxyError

_DEFAULT_PORTS = {"http": "80", "https": "443", "socks5": "1080"}
_PROXY_SCHEMES = ("http", "https", "socks5")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ProxyChoice:
    """The proxy chosen for a target: its URL (with credentials) and the variable it came from."""

    url: str
    source: str

    @property
    def masked(self) -> str:
        """The proxy URL with its password replaced by `***`, safe for logs and messages."""
        return mask_proxy_url(self.url)


def mask_proxy_url(url: str) -> str:
    """`http://user:pw@host:port` → `http://user:***@host:port`; URLs without password unchanged."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        # Unparseable (e.g. a broken IPv6 literal): mask anything between `user:` and `@`.
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
    if password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.netloc.rpartition("@")[0].partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _first_set(env: Mapping[str, str], *names: str) -> tuple[str, str]:
    # Go's getEnvAny: the first variable with a non-empty value wins, uppercase is asked first.
    for name in names:
        value = env.get(name, "")
        if value:
            return name, value
    return "", ""


def parse_proxy_value(value: str) -> str:
    """A proxy setting as Go reads it: `10.0.0.1:3128` or `proxy:3128` mean `http://…`."""
    value = value.strip()
    scheme = value.partition("://")[0].lower() if "://" in value else ""
    if scheme in _PROXY_SCHEMES:
        return value
    return "http://" + value


class _NoProxy:
    """A parsed NO_PROXY list: IP, CIDR and domain matchers as Go builds them."""

    def __init__(self, value: str) -> None:
        self.match_all = False
        self.ips: list[tuple[IPAddress, str]] = []
        self.cidrs: list[IPNetwork] = []
        self.domains: list[tuple[str, str, bool]] = []
        for raw in value.split(","):
            entry = raw.strip().lower()
            if not entry:
                continue
            if entry == "*":
                self.match_all = True
                return
            if "/" in entry:
                try:
                    self.cidrs.append(ipaddress.ip_network(entry, strict=False))
                    continue
                except ValueError:
                    pass
            host, port = _split_host_port(entry)
            if host is None:
                host, port = entry, ""
            if not host:
                continue  # ":8080" has no host part: Go ignores the entry
            host = host.removeprefix("[").removesuffix("]")
            try:
                self.ips.append((ipaddress.ip_address(host), port))
                continue
            except ValueError:
                pass
            if host.startswith("*."):
                host = host[1:]
            match_host = not host.startswith(".")
            if match_host:
                host = "." + host
            self.domains.append((_idna(host), port, match_host))

    def bypasses(self, host: str, port: str) -> bool:
        """True when a request to host:port must go direct (Go's `useProxy` returning false)."""
        if self.match_all:
            return True
        ip = _parse_ip(host)
        if ip is not None:
            for want, want_port in self.ips:
                if want == ip and want_port in ("", port):
                    return True
            if any(ip in net for net in self.cidrs if net.version == ip.version):
                return True
        for suffix, want_port, match_host in self.domains:
            named = host.endswith(suffix) or (match_host and host == suffix[1:])
            if named and want_port in ("", port):
                return True
        return False


def _split_host_port(entry: str) -> tuple[str | None, str]:
    # Go's net.SplitHostPort: "host:port" or "[v6]:port"; anything else is not a host:port pair.
    if entry.startswith("["):
        end = entry.find("]")
        if end < 0 or entry[end + 1 : end + 2] != ":":
            return None, ""
        return entry[: end + 1], entry[end + 2 :]
    if entry.count(":") != 1:
        return None, ""
    host, _, port = entry.partition(":")
    return host, port


def _parse_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _idna(host: str) -> str:
    try:
        return host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return host


def _is_loopback(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def proxy_for_url(target: str, env: Mapping[str, str]) -> ProxyChoice | None:
    """The proxy Go would use for `target` given `env`, or None for a direct connection.

    Raises ProxyError for HTTP_PROXY in a CGI environment (`REQUEST_METHOD` set), which Go refuses.
    """
    parts: SplitResult = urlsplit(target)
    scheme = parts.scheme.lower()
    if scheme == "https":
        source, value = _first_set(env, "HTTPS_PROXY", "https_proxy")
    elif scheme == "http":
        source, value = _first_set(env, "HTTP_PROXY", "http_proxy")
        if value and env.get("REQUEST_METHOD"):
            raise ProxyError(
                f"refusing to use {source} in a CGI environment (REQUEST_METHOD is set), as Go "
                "does; unset REQUEST_METHOD or HTTP_PROXY",
                url=target,
            )
    else:
        return None
    if not value:
        return None
    host = _idna((parts.hostname or "").lower())
    port = str(parts.port) if parts.port is not None else _DEFAULT_PORTS[scheme]
    if host == "localhost":
        return None
    ip = _parse_ip(host)
    if ip is not None and _is_loopback(ip):
        return None
    _, no_proxy = _first_set(env, "NO_PROXY", "no_proxy")
    if _NoProxy(no_proxy).bypasses(host, port):
        return None
    return ProxyChoice(url=parse_proxy_value(value), source=source)
