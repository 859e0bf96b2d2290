"""Desk pages of the sla app (mounted at /desk/sla/)."""

from django.urls import URLPattern, URLResolver, path

from loxodon.sla import views

app_name = "sla"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.overview, name="overview"),
    path("standards/new/", views.add_standard, name="add_standard"),
    path("standards/<uuid:standard_id>/edit/", views.edit_standard, name="edit_standard"),
    path("standards/<uuid:standard_id>/delete/", views.delete_standard, name="delete_standard"),
    path("hours/", views.hours, name="hours"),
    path("holidays/", views.add_holiday, name="add_holiday"),
    path("holidays/<uuid:holiday_id>/remove/", views.remove_holiday, name="remove_holiday"),
]
