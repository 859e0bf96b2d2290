from django.urls import URLPattern, URLResolver, path

from loxodon.channels.email import views

app_name = "channels_email"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.mail_list, name="list"),
    path("<uuid:inbound_id>/", views.mail_detail, name="detail"),
    path("<uuid:inbound_id>/raw/", views.raw_download, name="raw"),
    path("<uuid:inbound_id>/reprocess/", views.reprocess, name="reprocess"),
    path("events/<uuid:event_id>/", views.mail_for_event, name="for-event"),
    path("attachments/<uuid:attachment_id>/", views.attachment_download, name="attachment"),
]
