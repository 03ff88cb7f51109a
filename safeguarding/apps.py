from django.apps import AppConfig


class SafeguardingConfig(AppConfig):
    """No alert left alone: who has each crisis alert, the rota, and the climb from the group's
    facilitators to the rota to the operators. Above moderation, which announces alerts by signal."""

    name = "safeguarding"
    label = "safeguarding"
    verbose_name = "Safeguarding rota"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (listen for moderation's alerts)
