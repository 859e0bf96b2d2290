from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "loxodon.cases"
    label = "cases"
