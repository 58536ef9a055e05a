"""Websocket routes: one per live page; `asgi.py` wraps them in the session and Origin checks."""

from django.urls import path

from dashboard.consumers import LiveConsumer

websocket_urlpatterns = [
    path("ws/board/", LiveConsumer.as_asgi(), {"page": "board"}),
    path("ws/services/<int:object_id>/", LiveConsumer.as_asgi(), {"page": "service"}),
    path("ws/runs/<int:object_id>/", LiveConsumer.as_asgi(), {"page": "run"}),
]
