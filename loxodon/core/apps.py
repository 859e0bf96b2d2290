from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "loxodon.core"
    label = "core"
