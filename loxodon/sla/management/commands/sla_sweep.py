"""`loxodon sla_sweep`: recheck the service standards of every open case now (catch-up after
downtime, or after standards, hours or holidays changed)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from loxodon.sla.services import sweep_open_cases


class Command(BaseCommand):
    help = "Recompute the service-standard clocks of all open cases and schedule their checks."

    def handle(self, *args: Any, **options: Any) -> None:
        count = sweep_open_cases()
        self.stdout.write(f"checked {count} open case{'s' if count != 1 else ''}")
