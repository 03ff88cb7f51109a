from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "groups"
    label = "groups"
    verbose_name = "Groups"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects them)
