from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from loxodon.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("desk/", include("loxodon.desk.urls")),
    path("", RedirectView.as_view(url="/desk/", permanent=False)),
]
