from django.urls import path

from live.consumers import LaneConsumer, StoreLanesConsumer

websocket_urlpatterns = [
    path("ws/lanes/<str:code>/", LaneConsumer.as_asgi()),
    path("ws/stores/<int:store_id>/lanes/", StoreLanesConsumer.as_asgi()),
]
