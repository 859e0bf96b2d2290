"""The knowledge base in the desk: list, read, edit, history and diffs of articles.

Staff read every article (selectors decide); editing needs `selectors.can_edit_knowledge`
(agents get 403). Writes go through `services`; their refusals land on the form, nothing written.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from loxodon.core.errors import DomainError, NotFound, PermissionDenied
from loxodon.desk.views import DeskRequest, desk_view
from loxodon.knowledge import selectors, services
from loxodon.knowledge.diffs import diff_versions
from loxodon.knowledge.forms import ArticleFilters, ArticleForm
from loxodon.knowledge.models import Article, ArticleVersion, Audience, Category, Tag
from loxodon.knowledge.policy import parse_policy
from loxodon.knowledge.rendering import VARIANT_LABELS, channels_in
from loxodon.knowledge.rendering import render as render_body

PAGE_SIZE = 25
HISTORY_PAGE_SIZE = 50


def _require_staff(request: DeskRequest) -> None:
    if not selectors.is_staff_reader(request.user):
        raise NotFound("page not found")


def _require_editor(request: DeskRequest) -> None:
    _require_staff(request)
    if not selectors.can_edit_knowledge(request.user):
        raise PermissionDenied(
            "Editing the knowledge base needs a supervisor, an admin or an editor."
        )


def _article(request: DeskRequest, slug: str) -> Article:
    _require_staff(request)
    return selectors.get_article_for(request.user, slug)


# --- list -----------------------------------------------------------------------------------


@desk_view
def articles(request: DeskRequest) -> HttpResponse:
    _require_staff(request)
    form = ArticleFilters(request.GET)
    filters = form.filters()
    today = timezone.localdate()
    visible = selectors.articles_for(request.user)
    listed = (
        selectors.filter_articles(visible, today=today, **filters)
        .select_related("current__author")
        .prefetch_related("tags")
        .order_by("title", "pk")
    )
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    filtered = any(filters.values())
    context = {
        "page": page,
        "filters": filters,
        "filtered": filtered,
        "counts": selectors.article_counts(visible, today=today),
        "categories": list(Category.objects.order_by("name").values_list("slug", "name")),
        "tags": list(Tag.objects.order_by("name").values_list("name", flat=True)),
        "audiences": Audience.choices,
        "today": today,
        "can_edit": selectors.can_edit_knowledge(request.user),
    }
    template = "knowledge/_article_results.html" if request.htmx else "knowledge/articles.html"
    return render(request, template, context)


# --- read -----------------------------------------------------------------------------------


def _value_text(parameter: dict[str, Any]) -> str:
    value, kind, unit = parameter.get("value"), parameter.get("type"), parameter.get("unit") or ""
    if kind == "days":
        unit = unit or ("day" if value == 1 else "days")
    if kind == "list":
        return ", ".join(map(str, value or [])) or "(none)"
    if kind == "boolean":
        return "Yes" if value else "No"
    return f"{value} {unit}".strip()


def _authority_text(parameter: dict[str, Any], limit: float) -> str:
    kind = parameter.get("type")
    amount = int(limit) if float(limit).is_integer() else limit
    if not limit:
        return "none"
    if kind == "days":
        unit = parameter.get("unit") or "days"
        return f"up to {amount} {unit} more"
    if kind == "integer":
        return f"up to {amount} {parameter.get('unit') or ''} more".replace("  ", " ")
    if kind == "list":
        return f"up to {amount} extra item{'s' if amount != 1 else ''}"
    if kind == "boolean":
        return "may grant the opposite"
    return "may grant other wording"


def policy_rows(policy: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The parameters of a policy version as table rows (label, value, authority per role)."""
    if not policy:
        return []
    spec = parse_policy(policy).model_dump()
    return [
        {
            "key": p["key"],
            "label": p["label"],
            "value": _value_text(p),
            "authority": [
                (role, _authority_text(p, p["authority"].get(role, 0)))
                for role in ("agent", "supervisor")
            ],
        }
        for p in spec["parameters"]
    ]


def _reading_context(
    request: DeskRequest, article: Article, version: ArticleVersion
) -> dict[str, Any]:
    """What the article and version pages share: channel tabs, body, policy table."""
    channels = channels_in(version.body)
    channel = request.GET.get("channel") or None
    if channel not in channels:
        channel = None
    return {
        "article": article,
        "version": version,
        "channel": channel,
        "channel_label": VARIANT_LABELS.get(channel or "", ""),
        "channel_tabs": [(c, VARIANT_LABELS[c]) for c in channels],
        "body_html": render_body(version.body, channel),
        "policy": policy_rows(version.policy),
        "can_edit": selectors.can_edit_knowledge(request.user),
        "today": timezone.localdate(),
    }


@desk_view
def article(request: DeskRequest, slug: str) -> HttpResponse:
    found = _article(request, slug)
    version = found.current
    if version is None:
        raise Http404("this article has no version yet")
    context = _reading_context(request, found, version)
    context["tags"] = list(found.tags.all())
    context["stale"] = found.is_stale(context["today"])
    return render(request, "knowledge/article.html", context)


@desk_view
@require_POST
def archive_article(request: DeskRequest, slug: str) -> HttpResponse:
    found = _article(request, slug)
    _require_editor(request)
    try:
        services.archive_article(
            article=found, by=request.user, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, f"Not archived: {exc.detail}")
    else:
        messages.success(
            request, f"Archived “{found.title}”: customers no longer see it; staff still can."
        )
    return redirect("knowledge:article", slug=found.slug)


# --- edit -----------------------------------------------------------------------------------


def _form_page(
    request: DeskRequest, form: ArticleForm, found: Article | None, status: int = 200
) -> HttpResponse:
    context: dict[str, Any] = {"form": form, "article": found, "editing": found is not None}
    if "preview" in request.POST and form.is_valid():
        # Nothing is saved: the body and policy as they would read, under the form.
        context["preview_html"] = render_body(form.cleaned_data["body"])
        context["preview_policy"] = policy_rows(form.cleaned_data["policy"])
    return render(request, "knowledge/article_form.html", context, status=status)


@desk_view
def new_article(request: DeskRequest) -> HttpResponse:
    _require_editor(request)
    if request.method != "POST":
        return _form_page(request, ArticleForm(editing=False), None)
    form = ArticleForm(request.POST, editing=False)
    if not form.is_valid():
        return _form_page(request, form, None, status=400)
    if "preview" in request.POST:
        return _form_page(request, form, None)
    data = form.cleaned_data
    try:
        created = services.create_article(
            by=request.user,
            title=data["title"],
            body=data["body"],
            audience=data["audience"],
            change_note=data["change_note"] or "First version",
            slug=data["slug"] or None,
            category=data["category"],
            tags=data["tags"],
            review_by=data["review_by"],
            policy=data["policy"],
        )
    except DomainError as exc:
        form.add_service_error(exc)
        return _form_page(request, form, None, status=400)
    messages.success(request, f"Created “{created.title}” (version 1).")
    return redirect("knowledge:article", slug=created.slug)


def _initial(found: Article, version: ArticleVersion) -> dict[str, Any]:
    return {
        "title": version.title,
        "audience": version.audience,
        "category": found.category_id,
        "tags": ArticleForm.tag_text(list(found.tags.all())),
        "review_by": version.review_by,
        "body": version.body,
        "policy": json.dumps(version.policy, indent=2, ensure_ascii=False)
        if version.policy
        else "",
        "expected_version": version.number,
    }


def _unchanged(found: Article, version: ArticleVersion, data: dict[str, Any]) -> bool:
    tag_names = sorted({slugify(n)[:50] for n in data["tags"] if slugify(n)})
    return (
        data["title"].strip() == version.title
        and data["body"].strip() == version.body
        and data["audience"] == version.audience
        and data["review_by"] == version.review_by
        and data["policy"] == version.policy
        and (data["category"].pk if data["category"] else None) == found.category_id
        and tag_names == sorted(t.name for t in found.tags.all())
    )


@desk_view
def edit_article(request: DeskRequest, slug: str) -> HttpResponse:
    found = _article(request, slug)
    _require_editor(request)
    version = found.current
    if version is None:
        raise Http404("this article has no version yet")
    if request.method != "POST":
        return _form_page(
            request, ArticleForm(initial=_initial(found, version), editing=True), found
        )
    form = ArticleForm(request.POST, editing=True)
    if not form.is_valid():
        return _form_page(request, form, found, status=400)
    if "preview" in request.POST:
        return _form_page(request, form, found)
    data = form.cleaned_data
    expected = data.get("expected_version")
    if expected == version.number and _unchanged(found, version, data):
        form.add_error(None, "Nothing changed: edit something, or go back to the article.")
        return _form_page(request, form, found, status=400)
    try:
        created = services.revise_article(
            article=found,
            by=request.user,
            change_note=data["change_note"],
            title=data["title"],
            body=data["body"],
            audience=data["audience"],
            review_by=data["review_by"],
            policy=data["policy"],
            category=data["category"],
            tags=data["tags"],
            expected_version=expected if expected is not None else version.number,
        )
    except DomainError as exc:
        form.add_service_error(exc)
        return _form_page(
            request, form, found, status=409 if "changed while" in exc.detail else 400
        )
    messages.success(request, f"Saved “{created.title}” as version {created.number}.")
    return redirect("knowledge:article", slug=found.slug)


# --- history and diffs ----------------------------------------------------------------------


@desk_view
def history(request: DeskRequest, slug: str) -> HttpResponse:
    found = _article(request, slug)
    versions = selectors.versions_for(request.user, found)
    page = Paginator(versions, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "article": found,
        "page": page,
        "numbers": range(found.current.number, 0, -1) if found.current else range(0),
    }
    return render(request, "knowledge/history.html", context)


@desk_view
def version(request: DeskRequest, slug: str, number: int) -> HttpResponse:
    found = _article(request, slug)
    shown = selectors.get_version_for(request.user, found, number)
    context = _reading_context(request, found, shown)
    context["is_current"] = found.current_id == shown.pk
    return render(request, "knowledge/version.html", context)


def _version_number(raw: str | None, default: int | None) -> int | None:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return -1


@desk_view
def diff(request: DeskRequest, slug: str) -> HttpResponse:
    found = _article(request, slug)
    current = found.current.number if found.current else 0
    to = _version_number(request.GET.get("to"), current)
    frm = _version_number(request.GET.get("from"), (to or 0) - 1)
    problem = ""
    if to is None or frm is None or to < 1 or frm < 1:
        problem = "Versions are numbered from 1: choose two versions to compare."
    elif frm == to:
        problem = f"Both sides are version {to}: choose two different versions."
    if problem:
        context = {"article": found, "problem": problem, "numbers": range(current, 0, -1)}
        return render(request, "knowledge/diff.html", context, status=400)
    assert frm is not None and to is not None  # noqa: S101 - narrowed above
    if frm > to:
        url = reverse("knowledge:diff", kwargs={"slug": found.slug})
        return redirect(f"{url}?from={to}&to={frm}")
    old = selectors.get_version_for(request.user, found, frm)
    new = selectors.get_version_for(request.user, found, to)
    context = {
        "article": found,
        "old": old,
        "new": new,
        "fields": diff_versions(old, new),
        "numbers": range(current, 0, -1),
    }
    return render(request, "knowledge/diff.html", context)
