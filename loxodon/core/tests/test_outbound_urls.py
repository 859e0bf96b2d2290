"""Outbound URLs (issue 10, item 13): a configured URL can never reach the machine, the cloud's
metadata service or the office network, directly, through DNS or through a redirect; and no
module calls out over HTTP except through `core.outbound_urls`."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from loxodon.core import outbound_urls
from loxodon.core.outbound_urls import RefusedURL, check_public_url, fetch

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = "93.184.215.14"  # example.com's address: public, and nothing here connects to it

REFUSED = {
    # loopback, in every spelling a resolver accepts
    "http://127.0.0.1/": "loopback",
    "http://127.1/": "loopback",
    "http://2130706433/": "loopback",
    "http://0x7f000001/": "loopback",
    "http://017700000001/": "loopback",
    "http://localhost:8000/hook": "loopback",
    "http://LOCALHOST./": "loopback",
    "http://[::1]/": "loopback",
    "http://0.0.0.0/": "unspecified",
    "http://[::]/": "unspecified",
    # link-local: the cloud metadata service
    "http://169.254.169.254/latest/meta-data/": "link-local",
    "http://[fe80::1]/": "link-local",
    # private and shared ranges
    "http://10.0.0.1/": "private",
    "http://172.16.5.4/": "private",
    "http://192.168.1.1/admin": "private",
    "http://100.64.0.1/": "not a public",
    "http://[fc00::1]/": "private",
    "http://[fd12:3456::1]/": "private",
    # multicast, reserved, documentation
    "http://224.0.0.1/": "multicast",
    "http://[ff02::1]/": "multicast",
    "http://240.0.0.1/": "reserved",
    "http://255.255.255.255/": "reserved",
    "http://192.0.2.1/": "private",
    # IPv6 forms that carry an internal IPv4 address
    "http://[::ffff:127.0.0.1]/": "loopback",
    "http://[::ffff:169.254.169.254]/": "link-local",
    "http://[64:ff9b::a00:1]/": "private",
    "http://[2002:7f00:1::]/": "loopback",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/": "loopback",
    # not http(s), credentials, no host, bad port
    "file:///etc/passwd": "only http and https",
    "ftp://example.com/": "only http and https",
    "gopher://127.0.0.1:25/": "only http and https",
    "javascript:alert(1)": "only http and https",
    "http://user:secret@example.com/": "user name or password",
    "http://example.com@127.0.0.1/": "user name or password",
    "http:///path": "no host",
    "http://example.com:99999/": "port",
    "http://exa mple.com/": "spaces",
    "": "give an http",
}


def no_dns(host: str, port: int) -> list[str]:
    """Literal addresses resolve as the system would; names are test answers."""
    names = {
        "hooks.example.com": [PUBLIC],
        "rebind.example.com": ["10.1.2.3"],
        "split.example.com": [PUBLIC, "127.0.0.1"],
        "v6.example.com": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    }
    if host in names:
        return names[host]
    return outbound_urls._resolve(host, port)  # literals and localhost: no network needed


@pytest.mark.parametrize("url", list(REFUSED))
def test_internal_and_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(RefusedURL) as refused:
        check_public_url(url, resolve=no_dns)
    assert REFUSED[url] in refused.value.detail, refused.value.detail
    assert refused.value.status_code == 400


def test_names_are_judged_by_every_address_they_resolve_to() -> None:
    assert check_public_url("https://hooks.example.com/in", resolve=no_dns).addresses
    assert check_public_url("https://v6.example.com/in", resolve=no_dns).port == 443
    assert check_public_url(f"http://{PUBLIC}:8080/x", resolve=no_dns).port == 8080
    with pytest.raises(RefusedURL, match=r"10\.1\.2\.3, a private address"):
        check_public_url("https://rebind.example.com/", resolve=no_dns)
    with pytest.raises(RefusedURL, match=r"127\.0\.0\.1, a loopback address"):
        check_public_url("https://split.example.com/", resolve=no_dns)  # one bad answer is enough

    def unknown(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(RefusedURL, match="cannot be resolved"):
        check_public_url("https://nowhere.example.com/", resolve=unknown)


class Recorder(BaseHTTPRequestHandler):
    """A real HTTP server: /go?to=URL redirects there, anything else answers 'secret'."""

    hits: list[str]

    def do_GET(self) -> None:
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        if self.path.startswith("/go?to="):
            self.send_response(302)
            self.send_header("Location", self.path.split("=", 1)[1])
            self.end_headers()
        elif self.path == "/loop":
            self.send_response(307)
            self.send_header("Location", "/loop")
            self.end_headers()
        else:
            body = b"secret from " + self.headers["Host"].encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def serve(host: str) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, 0), Recorder)
    server.hits = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ThreadingHTTPServer, ...]]:
    """`outside` plays a public web server (this test alone lets 127.0.0.2 pass as public);
    `inside` is a real loopback service that must never be reached."""
    outside, inside = serve("127.0.0.2"), serve("127.0.0.1")
    real = outbound_urls.refusal
    monkeypatch.setattr(
        outbound_urls, "refusal", lambda ip: None if str(ip) == "127.0.0.2" else real(ip)
    )
    yield outside, inside
    for server in (outside, inside):
        server.shutdown()
        server.server_close()


def test_a_redirect_to_an_internal_address_is_refused_at_that_hop(
    servers: tuple[ThreadingHTTPServer, ...],
) -> None:
    outside, inside = servers
    base = f"http://127.0.0.2:{outside.server_port}"
    in_port = inside.server_port
    # the public server answers; the Host header is the name the URL gave
    assert fetch(f"{base}/hello").content == f"secret from 127.0.0.2:{outside.server_port}".encode()
    # a redirect to a public place is followed (and checked)
    followed = fetch(f"{base}/go?to={base}/landing")
    assert followed.status == 200 and followed.hops == [
        f"{base}/go?to={base}/landing",
        f"{base}/landing",
    ]
    targets = [
        f"http://127.0.0.1:{in_port}/secret",
        f"http://localhost:{in_port}/secret",
        f"http://[::ffff:127.0.0.1]:{in_port}/secret",
        f"http://2130706433:{in_port}/secret",
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://10.0.0.1/admin",
        "file:///etc/passwd",
        f"http://admin:pw@127.0.0.2:{outside.server_port}/x",
    ]
    for target in targets:
        with pytest.raises(RefusedURL):
            fetch(f"{base}/go?to={target}")
    with pytest.raises(RefusedURL, match="more than 3 redirects"):
        fetch(f"{base}/loop")
    with pytest.raises(RefusedURL, match="larger than 5 bytes"):
        fetch(f"{base}/big", max_bytes=5)
    assert inside.hits == []  # type: ignore[attr-defined]  # nothing reached the inside
    assert len(outside.hits) == 1 + 2 + len(targets) + 4 + 1  # type: ignore[attr-defined]


def test_a_direct_call_to_the_inside_is_refused_before_connecting(
    servers: tuple[ThreadingHTTPServer, ...],
) -> None:
    _, inside = servers
    with pytest.raises(RefusedURL, match="loopback"):
        fetch(f"http://127.0.0.1:{inside.server_port}/secret")
    assert inside.hits == []  # type: ignore[attr-defined]


HTTP_CLIENTS = re.compile(
    r"^\s*(?:import|from)\s+(httpx|requests|urllib3|aiohttp|pycurl|httplib2|http\.client|"
    r"urllib\.request)\b|urllib\.request|urlopen\(",
    re.M,
)


def test_no_module_calls_out_over_http_except_through_outbound_urls() -> None:
    offenders = []
    checked = 0
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if "/tests/" in f"/{relative}" or relative == "core/outbound_urls.py":
            continue
        checked += 1
        if HTTP_CLIENTS.search(path.read_text()):
            offenders.append(relative)
    assert checked > 100
    assert not offenders, f"call out only through loxodon.core.outbound_urls: {offenders}"
