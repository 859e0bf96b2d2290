from django.apps import AppConfig


class OutboundConfig(AppConfig):
    name = "loxodon.outbound"
    label = "outbound"
    verbose_name = "Customer messages (one voice)"
