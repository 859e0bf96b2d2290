from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from loxodon.api import api
from loxodon.portal.desk_views import message_file

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("desk/mail/", include("loxodon.channels.email.urls")),
    path("desk/chats/", include("loxodon.channels.chat.urls")),
    path("desk/messages/", include("loxodon.outbound.urls")),
    path("desk/sla/", include("loxodon.sla.urls")),
    path("desk/insights/", include("loxodon.insights.urls")),
    path("survey/", include("loxodon.insights.urls_public")),
    path("desk/kb/", include("loxodon.knowledge.urls")),
    path("desk/portal-files/<str:event_id>", message_file, name="desk-portal-file"),
    path("desk/", include("loxodon.desk.urls")),
    # the customers' side: public help articles today, their own picture with sign-in (issue 7)
    path("portal/", include("loxodon.portal.urls")),
    # public endpoints for the company's web sites: chat widget files, activity beacon
    path("web/", include("loxodon.channels.web.urls")),
    path("", RedirectView.as_view(url="/desk/", permanent=False)),
]
