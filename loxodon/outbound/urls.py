"""The case page's message panel (mounted at /desk/messages/)."""

from django.urls import URLPattern, URLResolver, path

from loxodon.outbound import views

app_name = "outbound"

urlpatterns: list[URLPattern | URLResolver] = [
    path("cases/<str:case_id>/", views.panel, name="panel"),
    path("cases/<str:case_id>/compose", views.compose, name="compose"),
    path("<str:message_id>/cancel", views.cancel, name="cancel"),
    path("<str:message_id>/retry", views.retry, name="retry"),
    path("<str:message_id>/answered", views.answered, name="answered"),
]
