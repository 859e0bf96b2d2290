"""The desk's chat pages, mounted at /desk/chats/."""

from django.urls import URLPattern, URLResolver, path

from loxodon.channels.chat import views

app_name = "chats"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.chat_list, name="list"),
    path("demo/", views.demo, name="demo"),
    path("<str:chat_id>/", views.chat_page, name="chat"),
    path("<str:chat_id>/reply", views.chat_reply, name="reply"),
    path("<str:chat_id>/take", views.chat_take, name="take"),
    path("<str:chat_id>/end", views.chat_end, name="end"),
    path("<str:chat_id>/case", views.chat_open_case, name="open-case"),
    path("<str:chat_id>/join", views.chat_join_case, name="join-case"),
]
