from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "loxodon.sla"
    label = "sla"
    verbose_name = "Service standards (SLAs)"
