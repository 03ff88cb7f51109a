from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The facilitator's console: the live session, room controls, the wellbeing radar, the session
    summary. Its frames travel on the chat socket; it sits above chat and moderation and uses both."""

    name = "console"
    label = "console"
    verbose_name = "Facilitator console"

    def ready(self) -> None:
        from . import frames  # noqa: F401  (registers the console's frames with the chat)
