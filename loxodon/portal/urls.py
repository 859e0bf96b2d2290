"""The customer portal (`/portal/`): one module of views per concern.

- `views`: the public help centre (knowledge articles);
- `auth_views`: sign-in by magic link or password, sign-out, contact details and email change;
- `picture_views`: my picture (home, timeline, cases and their actions, orders, products,
  conversations, labels, pins, nicknames, attachments, new request, web chat);
- `export_views`: download my data, feedback surveys.
"""

from django.urls import path

from loxodon.portal import auth_views, export_views, picture_views, views

app_name = "portal"

urlpatterns = [
    path("", picture_views.home, name="home"),
    # help centre (public, no sign-in)
    path("help/", views.help_centre, name="help"),
    path("help/search", views.help_search, name="help-search"),
    path("help/<slug:slug>/", views.help_article, name="help-article"),
    # signing in and the customer's own details
    path("sign-in/", auth_views.sign_in, name="sign-in"),
    path("sign-in/sent", auth_views.link_sent, name="sign-in-sent"),
    path("sign-in/link", auth_views.use_link, name="sign-in-link"),
    path("sign-out", auth_views.sign_out, name="sign-out"),
    path("account/", auth_views.account, name="account"),
    path("account/email", auth_views.change_email, name="account-email"),
    path("account/confirm-email", auth_views.confirm_email, name="account-confirm-email"),
    path("account/password", auth_views.set_password, name="account-password"),
    # my picture
    path("timeline/", picture_views.timeline, name="timeline"),
    path("cases/", picture_views.cases, name="cases"),
    path("cases/new", picture_views.new_case, name="case-new"),
    path("cases/<str:case_id>/", picture_views.case, name="case"),
    path("cases/<str:case_id>/<slug:action>", picture_views.case_action, name="case-action"),
    path("attachments/<str:attachment_id>/", picture_views.attachment, name="attachment"),
    path("orders/", picture_views.orders, name="orders"),
    path("products/", picture_views.products, name="products"),
    path("products/<str:asset_id>/nickname", picture_views.nickname, name="product-nickname"),
    path("conversations/", picture_views.conversations, name="conversations"),
    path("labels", picture_views.labels, name="labels"),
    path("chat/", picture_views.chat, name="chat"),
    # taking it with me, telling how it went
    path("my-data/", export_views.my_data, name="my-data"),
    path("my-data/<str:export_id>/download", export_views.download, name="my-data-download"),
    path("feedback/", export_views.feedback, name="feedback"),
    path("feedback/<str:invitation_id>/", export_views.answer, name="feedback-answer"),
]
