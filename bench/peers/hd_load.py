"""Loads the side-by-side fixture into django-helpdesk. Runs in the peer's own virtualenv.

`python -m bench.peers.hd_load DATA.jsonl` with DJANGO_SETTINGS_MODULE=bench.peers.hd_settings,
HD_DB set and the schema migrated. DATA.jsonl is written by bench/peers/dataset.py: a header
line, then one line per ticket ("t") and per follow-up ("f"). Tickets and follow-ups are written
with the ORM's bulk_create (no per-row save(), no signals, no mail), in one transaction each
50,000 rows: the fastest fair way through django-helpdesk's own models. The staff users are
created one by one with create_user(), so django-helpdesk's post_save signal gives each its
UserSettings. Prints one JSON object on stdout.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from typing import Any

CHUNK = 50_000


def main(path: str) -> int:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from helpdesk.models import FollowUp, Queue, Ticket

    started = time.perf_counter()
    user_model = get_user_model()
    with open(path, encoding="utf-8") as data:
        header: dict[str, Any] = json.loads(data.readline())
        users = []
        for n, username in enumerate(header["staff"]):
            admin = n == 0  # the bench's own sign-in: staff and superuser (the API wants admin)
            user = user_model.objects.create_user(
                username=username,
                email=f"{username}@helpdesk.localhost",
                password=os.environ["HD_PASSWORD"] if admin else None,
                is_staff=True,
                is_superuser=admin,
            )
            users.append(user)
        queues = [
            Queue.objects.create(title=title, slug=slug, allow_public_submission=True)
            for slug, title in header["queues"]
        ]
        tickets: list[Ticket] = []
        followups: list[FollowUp] = []
        counts = {"tickets": 0, "followups": 0}

        def flush() -> None:
            with transaction.atomic():
                if tickets:
                    Ticket.objects.bulk_create(tickets, batch_size=2000)
                if followups:
                    FollowUp.objects.bulk_create(followups, batch_size=2000)
            counts["tickets"] += len(tickets)
            counts["followups"] += len(followups)
            tickets.clear()
            followups.clear()

        for line in data:
            row = json.loads(line)
            if "t" in row:
                tid, queue, title, text, email, status, priority, created, owner = row["t"]
                at = datetime.fromisoformat(created)
                tickets.append(
                    Ticket(
                        id=tid,
                        queue=queues[queue],
                        title=title,
                        description=text,
                        submitter_email=email,
                        status=status,
                        priority=priority,
                        created=at,
                        modified=at,
                        assigned_to=None if owner is None else users[owner],
                    )
                )
            else:
                tid, date, title, comment, public, user = row["f"]
                followups.append(
                    FollowUp(
                        ticket_id=tid,
                        date=datetime.fromisoformat(date),
                        title=title,
                        comment=comment,
                        public=public,
                        user=users[user],
                    )
                )
            if len(tickets) + len(followups) >= CHUNK:
                flush()
        flush()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    out = {
        **counts,
        "queues": {slug: q.pk for (slug, _), q in zip(header["queues"], queues, strict=True)},
        "load_seconds": round(time.perf_counter() - started, 1),
        "method": "Django ORM bulk_create (batch_size 2000), 50,000 rows per transaction",
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
