"""Thin Celery tasks: load by id, call a service. Safe to run twice (the services check the state)."""

from celery import shared_task

from payments import logcontext, services


@shared_task(ignore_result=True)
def send_attempt(attempt_id: int) -> None:
    """Runs on the `gateway` queue: it blocks while the cardholder acts at the terminal."""
    logcontext.bind_payment(attempt_id=attempt_id)
    services.attempt_send(attempt_id=attempt_id)


@shared_task(ignore_result=True)
def poll_attempt(attempt_id: int) -> None:
    logcontext.bind_payment(attempt_id=attempt_id)
    services.attempt_poll(attempt_id=attempt_id)


@shared_task(ignore_result=True)
def requery_attempt(attempt_id: int) -> None:
    logcontext.bind_payment(attempt_id=attempt_id)
    services.attempt_requery(attempt_id=attempt_id)


@shared_task(ignore_result=True)
def resume_stalled_attempts() -> None:
    services.attempts_resume_stalled()


# --- refunds: quick calls (no cardholder), so on the `default` queue. Sent once, never re-sent.


@shared_task(ignore_result=True)
def send_refund(refund_id: int) -> None:
    services.refund_send(refund_id=refund_id)


@shared_task(ignore_result=True)
def resume_stalled_refunds() -> None:
    services.refunds_resume_stalled()
