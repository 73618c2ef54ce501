from django.urls import path

from lanes.consumers import LaneConsumer

websocket_urlpatterns = [
    path("ws/lanes/<str:code>/", LaneConsumer.as_asgi()),
]
