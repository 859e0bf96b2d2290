from django.apps import AppConfig


class EmailChannelConfig(AppConfig):
    name = "loxodon.channels.email"
    label = "channels_email"
    verbose_name = "Email channel"
