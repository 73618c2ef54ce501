"""`python manage.py add_webhook --store "<store name>" --url <url> [--events ...]`: a webhook endpoint for a
store. The endpoint's secret is printed alone on the last line, the only time it is shown."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext

from lanes.commands import ConsoleCommand, split_values, store_named
from webhooks.endpoints import ALL_EVENTS, endpoint_create


class Command(ConsoleCommand):
    help = ("Add a webhook endpoint to a store. The events are sent signed with the endpoint's secret, printed alone "
            "on the last line: keep it, it is not shown again.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--store", required=True, help="the store's name, as in the admin")
        parser.add_argument("--url", required=True, help="where the events are POSTed (https in production)")
        parser.add_argument("--events", nargs="+", default=list(ALL_EVENTS), metavar="EVENT",
                            help=f"the event types to send (space- or comma-separated); all by default: "
                                 f"{', '.join(ALL_EVENTS)}")

    def handle(self, *args: Any, **opts: Any) -> None:
        store = store_named(opts["store"])
        events = split_values(opts["events"])
        try:
            endpoint, secret = endpoint_create(store=store, url=opts["url"], events=events)
        except ValidationError as exc:
            raise CommandError(gettext("{why}. Nothing was added.").format(why="; ".join(exc.messages))) from None
        self.stdout.write(gettext("Webhook endpoint {id} added to {name}: {url}").format(
            id=endpoint.pk, name=store.name, url=endpoint.url))
        self.stdout.write(gettext("Events: {events}").format(events=", ".join(endpoint.events)))
        self.stdout.write(gettext("Its signing secret follows, shown this once (the console keeps it encrypted):"))
        self.stdout.write(secret)
