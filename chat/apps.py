from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    label = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from . import consumers, receivers  # noqa: F401  (registers the chat's own frames; connects the receivers)
