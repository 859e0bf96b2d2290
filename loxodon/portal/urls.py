from django.urls import path
from django.views.generic import RedirectView

from loxodon.portal import views

app_name = "portal"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:help", permanent=False), name="home"),
    path("help/", views.help_centre, name="help"),
    path("help/search", views.help_search, name="help-search"),
    path("help/<slug:slug>/", views.help_article, name="help-article"),
]
