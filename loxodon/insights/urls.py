"""Desk pages of the insights app, mounted at /desk/insights/ (namespace "insights")."""

from django.urls import URLPattern, URLResolver, path

from loxodon.insights import survey_views, views

app_name = "insights"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.dashboard, name="dashboard"),
    path("export/<slug:name>.csv", views.export, name="export"),
    # the customer page's "send a support survey" button (survey_views, surveys' owner)
    path(
        "surveys/invite/<uuid:customer_id>/",
        survey_views.send_support_survey,
        name="survey-invite",
    ),
]
