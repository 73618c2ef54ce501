"""Thin Celery tasks of the back office: load by id, call a service."""

from celery import shared_task

from backoffice import services


@shared_task(ignore_result=True)
def verify_day_step(run_id: int, cursor: int = 0) -> None:
    """One second's worth of look-ups, then the next step, paced to CONSOLE_VERIFY_RATE.

    A second delivery of the same step finds the run's cursor moved and does nothing.
    """
    result = services.verification_step(run_id=run_id, cursor=cursor)
    if result.next_cursor is not None:
        verify_day_step.apply_async((run_id, result.next_cursor), countdown=result.pause)
