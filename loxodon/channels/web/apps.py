from django.apps import AppConfig


class WebChannelConfig(AppConfig):
    name = "loxodon.channels.web"
    label = "channels_web"
    verbose_name = "Web activity channel"
