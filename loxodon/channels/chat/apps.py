from django.apps import AppConfig


class ChatChannelConfig(AppConfig):
    name = "loxodon.channels.chat"
    label = "channels_chat"
    verbose_name = "Web chat channel"
