from django.contrib import admin
from django.urls import include, path

from supportcircle import metrics
from supportcircle.accounts import views as account_views
from supportcircle.operations import views as operations_views

urlpatterns = [
    # For load balancers, process managers and Prometheus (docs/operations.md, Watching).
    path("healthz", operations_views.healthz, name="healthz"),
    path("readyz", operations_views.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    # Before Django's own auth URLs: our login view locks out repeated failures.
    path("accounts/login/", account_views.LoginView.as_view(), name="login"),
    # Django's own password recovery, with our words (templates/registration/password_reset_*).
    path("accounts/password_reset/", account_views.PasswordRecoveryView.as_view(), name="password_reset"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        account_views.ChooseNewPasswordView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/", include("supportcircle.accounts.urls")),
    path("admin/", admin.site.urls),
    path("", include("chat.urls")),
    path("", include("groups.urls")),
    path("", include("moderation.urls")),
    path("", include("console.urls")),
]
