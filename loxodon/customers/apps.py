from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "loxodon.customers"
    label = "customers"
