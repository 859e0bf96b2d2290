from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "loxodon.insights"
    label = "insights"
    verbose_name = "Surveys, effort and service figures"
