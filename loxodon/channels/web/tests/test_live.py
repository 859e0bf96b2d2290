"""Through a real server: a real Origin header over a socket, and beacon.js in Chromium posting
from another origin with navigator.sendBeacon."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from django.db import close_old_connections
from django.utils import timezone

from loxodon.channels.web.models import WebHit, WebProperty
from loxodon.channels.web.services import create_web_property
from loxodon.channels.web.tests.conftest import VISITOR, hit
from loxodon.desk.tests.browser import LiveServer, chromium, live_desk  # noqa: F401 - fixtures

SHOP_PAGE = """<!doctype html><html><head><title>Latitude 7440</title>
<script src="{loxodon}/static/loxodon-web/beacon.js" data-key="{key}" defer></script>
</head><body><h1>Latitude 7440</h1></body></html>"""


class ShopSite:
    """A company web page on an origin of its own that embeds Loxodon's beacon."""

    def __init__(self, loxodon: str, key: str) -> None:
        page = SHOP_PAGE.format(loxodon=loxodon, key=key).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ShopSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_real_origin_header_over_a_socket(live_desk: LiveServer) -> None:  # noqa: F811
    prop = create_web_property(name="Shop", origins=["https://shop.example.com"])
    body = json.dumps({"key": prop.public_key, "visitor": VISITOR, "hits": [hit()]})
    with httpx.Client(base_url=live_desk.url, timeout=10) as http:
        preflight = http.options(
            "/web/beacon",
            headers={
                "Origin": "https://shop.example.com",
                "Access-Control-Request-Method": "POST",
            },
        )
        ok = http.post(
            "/web/beacon",
            content=body,
            headers={"Origin": "https://shop.example.com", "Content-Type": "text/plain"},
        )
        refused = http.post(
            "/web/beacon",
            content=body,
            headers={"Origin": "https://evil.example.net", "Content-Type": "text/plain"},
        )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert ok.status_code == 202, ok.text
    assert ok.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    close_old_connections()
    assert WebHit.objects.count() == 1


@pytest.mark.browser
def test_beacon_js_sends_page_views_and_searches_from_another_origin(
    live_desk: LiveServer,  # noqa: F811
    chromium: object,  # noqa: F811
) -> None:
    prop = WebProperty.objects.create(name="Shop")
    with ShopSite(live_desk.url, prop.public_key) as shop:
        prop.allowed_origins = shop.origin
        prop.save(update_fields=["allowed_origins"])
        page = chromium.new_page()  # type: ignore[attr-defined]
        page.goto(shop.origin + "/laptops/latitude-7440")
        page.wait_for_function("() => !!(window.loxodon && window.loxodon.track)", polling=100)
        page.evaluate(
            """() => {
                loxodon.track("search", {query: "battery"});
                loxodon.track("configuration", {product: "Latitude 7440", options: {ram: "32 GB"}});
            }"""
        )
        page.goto("about:blank")  # pagehide: the queue goes out with navigator.sendBeacon
        deadline = time.monotonic() + 20
        while WebHit.objects.count() < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        page.close()
    hits = list(WebHit.objects.order_by("at", "id"))
    assert [h.type for h in hits] == ["page_view", "search", "configuration"]
    assert hits[0].title == "Latitude 7440"
    assert hits[0].url == shop.origin + "/laptops/latitude-7440"
    assert hits[1].query == "battery"
    assert hits[2].options == {"ram": "32 GB"}
    assert abs(hits[0].at - timezone.now()) < timedelta(minutes=5)
