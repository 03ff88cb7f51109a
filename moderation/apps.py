from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    label = "moderation"
    verbose_name = "Moderation"

    def ready(self) -> None:
        from chat.extensions import set_reviewer
        from groups.extensions import set_direct_message_reviewer

        from . import follow_up, frames, receivers  # noqa: F401  (register the frames and the after-posted hook)
        from .direct import ModerationDirectMessageReviewer
        from .review import ModerationReviewer

        set_reviewer(ModerationReviewer())
        set_direct_message_reviewer(ModerationDirectMessageReviewer())
