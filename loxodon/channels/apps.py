from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "loxodon.channels"
    label = "loxodon_channels"  # "channels" is Django Channels' label
    verbose_name = "Channel adapters"
