"""What staff need from the portal: the files customers attached to their cases."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from loxodon.cases.selectors import get_case_for
from loxodon.core.ids import parse_uuid
from loxodon.desk.views import DeskRequest, desk_view
from loxodon.portal.models import Attachment
from loxodon.portal.picture_views import file_download


@require_GET
@desk_view
def message_file(request: DeskRequest, event_id: str) -> HttpResponse:
    """The file a customer sent with a portal message (event), for staff who may read its case."""
    found = Attachment.objects.filter(event_id=parse_uuid(event_id, "event")).first()
    if found is None:
        raise Http404("no file with this message")
    get_case_for(request.user, found.case_id)  # the same check as the case page
    return file_download(found)
