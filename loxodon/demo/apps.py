from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "loxodon.demo"
    label = "demo"
    verbose_name = "Demo data"
