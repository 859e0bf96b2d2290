"""URLs of the django-helpdesk bench project: the help desk under /helpdesk/, as its docs say."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("helpdesk/", include("helpdesk.urls", namespace="helpdesk")),
]
