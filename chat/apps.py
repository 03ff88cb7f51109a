from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    label = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects them)
