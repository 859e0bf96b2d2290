from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "loxodon.portal"
    label = "portal"
    verbose_name = "Customer portal"
