from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "supportcircle.accounts"
    label = "accounts"
    verbose_name = "Accounts"
