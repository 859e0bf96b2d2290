from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "loxodon.org"
    label = "org"
    verbose_name = "Organisation"
