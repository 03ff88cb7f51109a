from django.contrib import admin
from django.urls import include, path

from supportcircle.accounts import views as account_views

urlpatterns = [
    # Before Django's own auth URLs: our login view locks out repeated failures.
    path("accounts/login/", account_views.LoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/", include("supportcircle.accounts.urls")),
    path("admin/", admin.site.urls),
    path("", include("chat.urls")),
    path("", include("groups.urls")),
    path("", include("moderation.urls")),
]
