from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "loxodon.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge base (articles, policies, exceptions)"
