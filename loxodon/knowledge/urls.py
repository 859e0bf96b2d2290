"""The knowledge base in the desk (`/desk/kb/`): one module of views per concern.

- `views`: article list, reading, editing, versions and diffs;
- `search_views`: search results, typo suggestions, suggested articles for a case;
- `citation_views`: citing an article to the customer, and the citations report;
- `exception_views`: policy exceptions on a case, the approvals queue and the register.
Fixed words come before `<slug>` routes; article slugs may not use them (see services).
"""

from django.urls import path

from loxodon.knowledge import citation_views, exception_views, search_views, views

app_name = "knowledge"

urlpatterns = [
    path("", views.articles, name="articles"),
    path("new", views.new_article, name="new"),
    path("search", search_views.search, name="search"),
    path("suggest", search_views.suggest, name="suggest"),
    path(
        "for-case/<str:case_id>/suggestions", search_views.case_suggestions, name="case-suggestions"
    ),
    path("for-case/<str:case_id>/cite", citation_views.case_cite, name="case-cite"),
    path(
        "for-case/<str:case_id>/exceptions", exception_views.case_exceptions, name="case-exceptions"
    ),
    path("citations/", citation_views.report, name="citations"),
    path("exceptions/", exception_views.register, name="exceptions"),
    path("approvals/", exception_views.approvals, name="approvals"),
    path("exceptions/<str:exception_id>/decide", exception_views.decide, name="exception-decide"),
    path("<slug:slug>/", views.article, name="article"),
    path("<slug:slug>/edit", views.edit_article, name="edit"),
    path("<slug:slug>/archive", views.archive_article, name="archive"),
    path("<slug:slug>/versions/", views.history, name="history"),
    path("<slug:slug>/versions/<int:number>/", views.version, name="version"),
    path("<slug:slug>/diff", views.diff, name="diff"),
]
