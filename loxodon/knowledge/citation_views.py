"""Citing an article to the customer from a case, and the citations report (`/desk/kb/`).

- `case_cite` (`for-case/<case_id>/cite`): the case page's "Give the customer an article" panel.
  GET renders it (or, with `picker=1`, only the article picker's search results); POST cites
  through `citations.cite_article` and answers with the panel again, saying what happened.
- `report` (`citations/`): counts per article, version and channel for a period, with flags where an
  old version is still being quoted or different versions were given. Supervisors and admins.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from loxodon.cases.models import Case
from loxodon.cases.selectors import get_case_for, recent_contacts_of
from loxodon.core.access import require_supervisor
from loxodon.core.errors import DomainError, InvalidInput, NotFound
from loxodon.desk.views import DeskRequest, desk_view
from loxodon.knowledge import citations
from loxodon.knowledge.events import CITED_ON
from loxodon.knowledge.models import Article
from loxodon.knowledge.search import search_articles
from loxodon.knowledge.selectors import articles_for, get_article_for
from loxodon.org.models import Site

PICKER_LIMIT = 8


def _default_channel(request: DeskRequest, case: Case) -> str:
    """The channel of the customer's latest contact, if it is one we cite on; else phone."""
    latest = recent_contacts_of(request.user, case.customer_id, limit=1)
    channel = latest[0].channel if latest else "phone"
    channel = "phone" if channel == "ivr" else channel
    return channel if channel in citations.CITE_CHANNELS else "phone"


def _panel(
    request: DeskRequest,
    case: Case,
    *,
    error: str = "",
    done: str = "",
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    form = form or {}
    chosen = None
    if form.get("article"):
        try:
            chosen = get_article_for(request.user, form["article"])
        except NotFound:
            chosen = None
    cited = citations.citations_of_case(request.user, case)
    for c in cited:
        setattr(c, "channel_label", citations.CHANNEL_LABELS.get(c.channel, c.channel))  # noqa: B010
    context = {
        "case": case,
        "cited": cited,
        "channels": [(c, citations.CHANNEL_LABELS[c]) for c in citations.CITE_CHANNELS],
        "channel": form.get("channel") or _default_channel(request, case),
        "note": form.get("note", ""),
        "chosen": chosen,
        "error": error,
        "done": done,
    }
    return render(request, "knowledge/_case_cite.html", context, status=status)


def _picker(request: DeskRequest, case: Case) -> HttpResponse:
    q = (request.GET.get("q") or "").strip()
    hits: list[Any] = []
    total = 0
    suggestion = None
    if q:
        # Public articles only: these are what a customer may be given.
        results = search_articles(None, q, limit=PICKER_LIMIT)
        hits, total, suggestion = list(results.hits), results.total, results.suggestion
    else:
        hits = [
            {"article": a, "snippet_html": ""}
            for a in articles_for(None).order_by("-updated_at")[:PICKER_LIMIT]
        ]
    # An article the agent ticked while the search was on its way stays ticked if it is listed.
    chosen = request.GET.get("article", "")
    context = {
        "case": case,
        "q": q,
        "hits": hits,
        "total": total,
        "suggestion": suggestion,
        "chosen": chosen,
    }
    return render(request, "knowledge/_case_cite_picker.html", context)


@desk_view
def case_cite(request: DeskRequest, case_id: str) -> HttpResponse:
    case = get_case_for(request.user, case_id)
    if request.method == "GET":
        if request.GET.get("picker"):
            return _picker(request, case)
        return _panel(request, case)
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    form = {k: (request.POST.get(k) or "").strip() for k in ("article", "channel", "note")}
    error = done = ""
    try:
        if not form["article"]:
            raise InvalidInput("choose an article to give the customer")
        article = get_article_for(request.user, form["article"])
        citation = citations.cite_article(
            case=case, article=article, by=request.user, channel=form["channel"], note=form["note"]
        )
        version = citation.version
        done = (
            f'Recorded: "{version.title}" (v{version.number}) given '
            f"{CITED_ON[citation.channel]}"
            + (" and queued to the customer by email." if citation.channel == "email" else ".")
        )
    except NotFound:
        error = "That article no longer exists or is not visible to you; search again."
    except DomainError as exc:
        error = f"{exc.detail[:1].upper()}{exc.detail[1:]}."
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done)
        return redirect(reverse("desk:case", args=[case.pk]) + "#kb-cite")
    if error:
        return _panel(request, case, error=error, form=form)
    return _panel(request, case, done=done)


def _date(value: str | None, what: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


@desk_view
def report(request: DeskRequest) -> HttpResponse:
    require_supervisor(request.user, "the citations report is for supervisors and admins")
    error = ""
    site = article = None
    try:
        since = _date(request.GET.get("since"), "from")
        until = _date(request.GET.get("until"), "to")
        since, until = citations.period(since, until)
    except InvalidInput as exc:
        error = exc.detail
        since, until = citations.period(None, None)
    if request.GET.get("site"):
        site = Site.objects.filter(code=request.GET["site"]).first()
    if request.GET.get("article"):
        try:
            article = get_article_for(request.user, request.GET["article"])
        except NotFound:
            article = None
    data = citations.citation_report(
        request.user, since=since, until=until, site=site, article=article
    )
    quoted = Article.objects.filter(citations__isnull=False).distinct().order_by("title")[:500]
    context = {
        "report": data,
        "error": error,
        "site": site,
        "article": article,
        "sites": Site.objects.order_by("name"),
        "quoted_articles": quoted,
        "channel_labels": citations.CHANNEL_LABELS,
    }
    return render(request, "knowledge/citations.html", context)
