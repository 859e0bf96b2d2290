"""What each centre's record looked like when it was last imported."""

from __future__ import annotations

from django.db import models

from loxodon.core.models import BaseModel


class ImportedRecord(BaseModel):
    """One centre record (`legacy` identity `site:id`) as last imported, normalised.

    The fingerprint makes a re-run of the same file a no-op whatever happened to the customer
    since (merged by linkage, edited by an agent); the values let a changed row update only the
    fields the centre changed, so agents' corrections and merge survivorship are not undone by
    an unchanged column.
    """

    site = models.ForeignKey("org.Site", on_delete=models.PROTECT, related_name="+")
    legacy_key = models.CharField(max_length=254, unique=True, help_text="site:id, normalised")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    values = models.JSONField(default=dict)
    fingerprint = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.legacy_key
