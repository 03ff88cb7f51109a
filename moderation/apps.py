from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    label = "moderation"
    verbose_name = "Moderation"

    def ready(self) -> None:
        from chat.extensions import set_reviewer

        from . import follow_up, frames, receivers  # noqa: F401  (register the frames and the after-posted hook)
        from .review import ModerationReviewer

        set_reviewer(ModerationReviewer())
