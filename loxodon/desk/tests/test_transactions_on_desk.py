"""Transactions read well on the desk: an order's lines as a table, not a dump of JSON."""

from __future__ import annotations

import html
from typing import Any

from django.test import Client

from loxodon.core.testing import Api, event


def test_an_order_shows_its_lines_and_facts_on_the_customer_page(
    api: Api, customer: dict[str, Any], desk: Client
) -> None:
    payload = {
        "order_number": "SO-77",
        "currency": "GBP",
        "lines": [
            {"product": "ProBook 450 G10", "quantity": 12, "unit_price": "899.00"},
            {"product": "EliteBook <840>", "serial": "5CG-SERIAL-1"},
        ],
    }
    body = event("o-77", kind="order", customer_id=customer["id"], payload=payload)
    assert api.post("/events", body).status_code == 201
    page = desk.get(f"/desk/customers/{customer['id']}/").content.decode()
    table = page[page.index('class="table table-sm small mb-1 mt-2 lines-table"') :]
    assert "ProBook 450 G10" in table and "GBP 899.00" in table and ">12<" in table
    assert "5CG-SERIAL-1" in table
    assert "EliteBook &lt;840&gt;" in table  # escaped
    assert "{&#x27;product&#x27;" not in page and html.escape("{'product'") not in page
    assert "Order number" in page and "SO-77" in page
