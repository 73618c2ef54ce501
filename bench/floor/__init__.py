"""The architecture's floor: the skeleton of a payment through the product's specified parts, and nothing else.

A POST to Daphne (Django, no middleware), a Celery task on a threads pool that makes two HTTP calls to a
stand-in gateway, a push through the same Redis pubsub channel layer and publisher as the console, and a
websocket consumer in a second Daphne that forwards it. With ``FLOOR_WRITES=1`` the three writes a money path
cannot do without (the attempt inserted before the task is sent, marked sent before the call, its result after
it), each one hand-written statement on a pooled PostgreSQL connection.

No session, user, CSRF, idempotency, lane or terminal check, signing, verification, redaction, event history,
webhooks outbox, metrics or log line. ``bench.architecture_floor`` runs it and measures its CPU per payment: the
least any console built on Daphne, Django, Celery and Channels pays per payment on this machine.
Not part of the console: nothing of the product imports it.
"""
