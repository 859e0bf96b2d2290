from django.apps import AppConfig


class VoiceChannelConfig(AppConfig):
    name = "loxodon.channels.voice"
    label = "channels_voice"
    verbose_name = "Phone, IVR and CTI channel"
