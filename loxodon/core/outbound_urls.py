"""Outbound HTTP to an address someone typed in (a webhook, a callback): public internet only.

Loxodon makes no such call today (issue 10, item 13 checked: no module outside the tests imports
an HTTP client). This is the one door any future one must go through, so that a configured URL
can never reach the machine itself, the cloud's metadata service or the office network (SSRF):

- `check_public_url(url)` takes http(s) URLs only, without user or password, and resolves the
  host; every address it resolves to must be public: loopback, private, link-local, shared
  (100.64/10), multicast, reserved and unspecified addresses are refused, in IPv4 and IPv6, and
  so are IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4, Teredo).
- `fetch(url)` connects to the address that was checked (no second DNS answer can swap in an
  internal one), follows no redirect by itself and checks every hop again, reads at most
  `max_bytes`, and never uses proxy settings from the environment.

`httpx` is imported only when `fetch` runs: a feature that calls it makes httpx a runtime
dependency (today it is a test dependency).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit, urlunsplit

from loxodon.core.errors import InvalidInput

if TYPE_CHECKING:
    import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

SCHEMES = {"http": 80, "https": 443}
NAT64 = ipaddress.ip_network("64:ff9b::/96")
MAX_REDIRECTS = 3
REDIRECTS = (301, 302, 303, 307, 308)
MAX_BYTES = 1 << 20
TIMEOUT_SECONDS = 10.0


class RefusedURL(InvalidInput):
    """The URL may not be called: `detail` says why."""


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def refusal(ip: IPAddress) -> str | None:
    """Why this address is not on the public internet (None: it is)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded: IPAddress | None = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip.teredo:
            embedded = ip.teredo[1]
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = refusal(embedded)
            return f"{inner} (inside {ip})" if inner else None
    for reason, hit in (
        ("a loopback address", ip.is_loopback),
        ("an unspecified address", ip.is_unspecified),
        ("a link-local address", ip.is_link_local),
        ("a multicast address", ip.is_multicast),
        ("a reserved address", ip.is_reserved),
        ("a private address", ip.is_private),
        ("not a public address", not ip.is_global),
    ):
        if hit:
            return f"{ip}, {reason}"
    return None


@dataclass(frozen=True)
class CheckedURL:
    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def check_public_url(url: str, *, resolve: Resolver = _resolve) -> CheckedURL:
    """The URL and the public addresses its host resolves to, or `RefusedURL` saying why."""
    if not isinstance(url, str) or not url.strip():
        raise RefusedURL("url: give an http:// or https:// address")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise RefusedURL("url: spaces and control characters are not allowed")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise RefusedURL(f"url: only http and https addresses are allowed, not {scheme or '?'}:")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise RefusedURL("url: a user name or password in the address is not allowed")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise RefusedURL("url: the address has no host name")
    try:
        port = parts.port or SCHEMES[scheme]
    except ValueError:
        raise RefusedURL("url: the port is not a number from 1 to 65535") from None
    try:
        answers = resolve(host, port)
    except (OSError, UnicodeError):
        raise RefusedURL(f"url: the host {host} cannot be resolved") from None
    addresses: list[IPAddress] = []
    for answer in answers:
        ip = ipaddress.ip_address(answer.split("%", 1)[0])
        why = refusal(ip)
        if why:
            raise RefusedURL(f"url: {host} leads to {why}; only public addresses may be called")
        addresses.append(ip)
    if not addresses:
        raise RefusedURL(f"url: the host {host} cannot be resolved")
    return CheckedURL(url, scheme, host, port, tuple(addresses))


@dataclass
class Fetched:
    url: str  # the last hop's URL
    status: int
    headers: dict[str, str]
    content: bytes
    hops: list[str] = field(default_factory=list)


def fetch(
    url: str,
    *,
    method: str = "GET",
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    max_redirects: int = MAX_REDIRECTS,
    max_bytes: int = MAX_BYTES,
    timeout: float = TIMEOUT_SECONDS,
    resolve: Resolver = _resolve,
) -> Fetched:
    """Call a configured URL safely: every hop checked, the checked address used."""
    import httpx

    hops: list[str] = []
    with httpx.Client(follow_redirects=False, trust_env=False, timeout=timeout) as client:
        for _ in range(max_redirects + 1):
            checked = check_public_url(url, resolve=resolve)
            hops.append(url)
            status, answer_headers, body = _send(
                client, checked, method, content, headers, max_bytes
            )
            location = answer_headers.get("location")
            if status not in REDIRECTS or not location:
                return Fetched(url, status, answer_headers, body, hops)
            url = urljoin(url, location)
            if status not in (307, 308):  # as browsers do: the next hop is a GET
                method, content = "GET", None
    raise RefusedURL(f"url: more than {max_redirects} redirects")


def _send(
    client: httpx.Client,
    checked: CheckedURL,
    method: str,
    content: bytes | None,
    headers: dict[str, str] | None,
    max_bytes: int,
) -> tuple[int, dict[str, str], bytes]:
    """One request to the checked address (the Host header and TLS name stay the host's)."""
    ip = checked.addresses[0]
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    parts = urlsplit(checked.url)
    pinned = urlunsplit(
        (checked.scheme, f"{literal}:{checked.port}", parts.path or "/", parts.query, "")
    )
    name = f"[{checked.host}]" if ":" in checked.host else checked.host
    default = SCHEMES[checked.scheme] == checked.port
    host_header = name if default else f"{name}:{checked.port}"
    request = client.build_request(
        method,
        pinned,
        content=content,
        headers={**(headers or {}), "Host": host_header},
        extensions={"sni_hostname": checked.host},
    )
    response = client.send(request, stream=True)
    try:
        body = b""
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise RefusedURL(f"url: the answer is larger than {max_bytes} bytes")
        return response.status_code, {k.lower(): v for k, v in response.headers.items()}, body
    finally:
        response.close()
