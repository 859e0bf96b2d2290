"""Staff API of the web channel (`/api/v1/channels/web/`). The beacon itself is public and lives
at `/web/beacon` (views.py): it is not part of the token-authenticated API."""

from __future__ import annotations

from ninja import Router

from loxodon.channels.web.schemas import WebPropertyOut
from loxodon.channels.web.selectors import properties_for
from loxodon.core.schemas import ApiRequest, ErrorOut

router = Router(tags=["web"])


@router.get(
    "/properties",
    response={200: list[WebPropertyOut], 403: ErrorOut, 404: ErrorOut},
    summary="Web properties (admins): public keys and allowed origins; never the secret",
)
def list_properties(request: ApiRequest) -> list[WebPropertyOut]:
    return [
        WebPropertyOut(
            id=str(p.pk),
            name=p.name,
            site=p.site.code if p.site else None,
            public_key=p.public_key,
            allowed_origins=[o.strip() for o in p.allowed_origins.splitlines() if o.strip()],
            active=p.active,
        )
        for p in properties_for(request.auth)
    ]
