from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    label = "moderation"
    verbose_name = "Moderation"

    def ready(self) -> None:
        from chat.extensions import set_reviewer

        from . import frames, receivers  # noqa: F401  (register the frames; connect the receivers)
        from .review import ModerationReviewer

        set_reviewer(ModerationReviewer())
