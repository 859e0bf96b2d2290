"""Channel adapters: each one normalises what arrives, resolves the customer, appends an
idempotent timeline event, attaches it to the right case and notifies the desk.

One Django app per channel (`email`, `voice`, `chat`, `web`), so each owns its models and
migrations; transactions from other systems go through the timeline's typed ingest."""
