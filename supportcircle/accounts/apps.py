from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "supportcircle.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from supportcircle.random_strings import use_for_django
        from supportcircle.security import remember_the_content_security_policy

        from . import signals  # noqa: F401  (connects the receivers)
        from .models import update_last_login

        # Django's receiver, replaced by the same write as one statement (models.update_last_login).
        user_logged_in.disconnect(dispatch_uid="update_last_login")
        user_logged_in.connect(update_last_login, dispatch_uid="update_last_login")
        # Session keys and CSRF secrets in one read from the OS; the site's policy header built once.
        use_for_django()
        remember_the_content_security_policy()
