from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "loxodon.desk"
    label = "desk"
    verbose_name = "Agent desk"
