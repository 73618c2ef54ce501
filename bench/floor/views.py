"""The floor's one HTTP view (and its URLs): take a sale, send its task, answer 201."""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from bench.floor import settings
from bench.floor.celery import send_sale


def pay(request: HttpRequest, lane: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    body = json.loads(request.body)
    ref, amount = str(body["ref"]), int(body["amount"])
    if settings.WRITES:  # autocommit: one statement, durable before the task is sent
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO floor_attempt (ref, lane, amount, status) VALUES (%s, %s, %s, 'CREATED') "
                           "RETURNING id", [ref, lane, amount])
            row = cursor.fetchone()
        attempt = int(row[0]) if row else 0
    else:
        attempt = 0
    send_sale(attempt, ref, lane, amount)
    return JsonResponse({"id": attempt, "ref": ref, "status": "CREATED"}, status=201)


urlpatterns = [path("pay/<str:lane>", pay)]
