from django.urls import path

from backoffice.views.wall import lanes_wall

urlpatterns = [
    path("lanes/", lanes_wall, name="lanes-wall"),
]
