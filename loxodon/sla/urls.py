"""Desk pages of the sla app (mounted at /desk/sla/)."""

from django.urls import URLPattern, URLResolver, path

from loxodon.sla import views

app_name = "sla"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.overview, name="overview"),
]
