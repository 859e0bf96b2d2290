from django.apps import AppConfig


class TimelineConfig(AppConfig):
    name = "loxodon.timeline"
    label = "timeline"
