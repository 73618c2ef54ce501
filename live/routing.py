from django.urls import path

from live.consumers import LaneConsumer, StoreLanesConsumer

# django-stubs type path() for views only; Channels routes ASGI consumers with it (hence the ignores).
websocket_urlpatterns = [
    path("ws/lanes/<str:code>/", LaneConsumer.as_asgi()),  # type: ignore[arg-type]
    path("ws/stores/<int:store_id>/lanes/", StoreLanesConsumer.as_asgi()),  # type: ignore[arg-type]
]
