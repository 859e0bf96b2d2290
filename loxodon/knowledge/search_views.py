"""Placeholder until this part of the knowledge base lands."""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse


def search(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    raise Http404("not built yet")


def suggest(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    raise Http404("not built yet")


def case_suggestions(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    raise Http404("not built yet")
