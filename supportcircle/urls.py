from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/", include("supportcircle.accounts.urls")),
    path("admin/", admin.site.urls),
    path("", include("chat.urls")),
    path("", include("groups.urls")),
    path("", include("moderation.urls")),
]
