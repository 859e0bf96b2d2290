from django.apps import AppConfig


class ImportsChannelConfig(AppConfig):
    name = "loxodon.channels.imports"
    label = "channels_imports"
    verbose_name = "Imports from the centres' legacy systems"
