"""Creating a webhook endpoint: the one place its secret is made. The secret is returned once, to be shown
once (the command's last line, the admin's page after adding), and kept only encrypted."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from lanes.models import Store
from webhooks.models import Endpoint, EventType, validate_endpoint_url
from webhooks.signing import new_secret

ALL_EVENTS = tuple(EventType.values)


def clean_events(events: Iterable[str]) -> list[str]:
    """The event types asked for, in the order of EventType; a name that is not one is an error."""
    wanted = {name.strip() for name in events if name.strip()}
    unknown = sorted(wanted - set(ALL_EVENTS))
    if unknown:
        raise ValidationError(gettext("unknown event type(s): {unknown}; the event types are {events}").format(
            unknown=", ".join(unknown), events=", ".join(ALL_EVENTS)))
    if not wanted:
        raise ValidationError(gettext("an endpoint needs at least one event type"))
    return [name for name in ALL_EVENTS if name in wanted]


def endpoint_create(*, store: Store, url: str, events: Iterable[str] = ALL_EVENTS) -> tuple[Endpoint, str]:
    """A new active endpoint and its secret (in clear: the only time it is)."""
    try:
        validate_endpoint_url(url)
    except ValidationError:
        raise ValidationError(gettext("{url} is not an http:// or https:// URL").format(url=repr(url))) from None
    endpoint = Endpoint(store=store, url=url, events=clean_events(events))
    secret = new_secret()
    endpoint.set_secret(secret)
    endpoint.full_clean()
    endpoint.save()
    return endpoint, secret
