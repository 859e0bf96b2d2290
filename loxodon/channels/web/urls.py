"""Public endpoints for the company's web sites (mounted at /web/)."""

from django.urls import URLPattern, URLResolver, path

from loxodon.channels.web import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("beacon", views.beacon, name="web-beacon"),
]
