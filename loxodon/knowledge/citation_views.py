"""Placeholder until this part of the knowledge base lands."""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse


def case_cite(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    raise Http404("not built yet")


def report(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    raise Http404("not built yet")
