"""The background job that sends customer messages (run by `loxodon db_worker`).

Services enqueue it on commit, deferred to the moment a message becomes due (`run_after`, which
the database backend supports). Every run sends *everything* that is due, so duplicate or late
runs are harmless: a message is claimed with a status transition before it is sent.
"""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_due_messages() -> dict[str, int]:
    """Send every customer message that is due; fold department updates into one digest."""
    from loxodon.outbound.services import send_due_messages  # services enqueue this task

    return send_due_messages().as_dict()
