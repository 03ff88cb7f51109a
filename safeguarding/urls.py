from django.urls import path

from . import views

app_name = "safeguarding"

urlpatterns = [
    path("safeguarding/alerts/<int:case_id>/", views.alert, name="alert"),
    path("safeguarding/alerts/<int:case_id>/take/", views.take, name="take"),
    path("safeguarding/alerts/<int:case_id>/followed-up/", views.followed_up, name="followed_up"),
    path("safeguarding/alerts/<int:case_id>/close/", views.close, name="close"),
    path("safeguarding/alerts/<int:case_id>/debrief/", views.debrief, name="debrief"),
    path("safeguarding/banner.json", views.banner, name="banner"),
    path("safeguarding/rota/", views.rota, name="rota"),
    path("safeguarding/report/", views.report, name="report"),
]
