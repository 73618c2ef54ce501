"""Thin Celery tasks on the `webhooks` queue: load by id, call a service. Safe to run twice (a try is claimed)."""

from celery import shared_task

from webhooks.delivery import deliveries_resume, delivery_try


@shared_task(ignore_result=True)
def deliver(delivery_id: int) -> None:
    delivery_try(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def resume_deliveries() -> None:
    deliveries_resume()
