"""Public survey pages (no login), mounted at /survey/."""

from django.urls import URLPattern, URLResolver, path

from loxodon.insights import survey_views

app_name = "survey"

urlpatterns: list[URLPattern | URLResolver] = [
    path("thanks/", survey_views.thanks, name="thanks"),
    path("<str:token>/", survey_views.survey, name="answer"),
]
