"""Who may do what: roles in a store (memberships) and organisation-wide roles (groups).

Store roles, given per store (``StoreMembership``): cashier (the lanes they are assigned to), supervisor (lanes
wall, dashboard read-only, payment pages and receipts, approving a second charge of a sale), manager
(supervisor + refunds, re-query, closing exceptions, verifying the day). Organisation-wide roles, as groups:
owner (a manager in every store) and admin (owner + any lane + setup in the Django admin, with ``is_staff``).
The checks themselves are ``lanes.access``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.management import create_permissions

SUPERVISOR = [
    "lanes.view_lanes_wall",
    "payments.view_reconciliation",
    "payments.view_paymentattempt",
    "payments.view_refund",
    "payments.view_paymentevent",
    "payments.override_sale",
]
MANAGER = [*SUPERVISOR, "payments.refund_payment", "payments.resolve_exception"]
STORE_ROLES: dict[str, frozenset[str]] = {
    "cashier": frozenset(),
    "supervisor": frozenset(SUPERVISOR),
    "manager": frozenset(MANAGER),
}

SETUP_MODELS = ["payments.merchant", "lanes.store", "lanes.lane", "lanes.terminal", "lanes.storemembership",
                "auth.user", "auth.group", "webhooks.endpoint", "integrations.apikey"]
# The webhooks' record, read in the admin; changing a delivery is its "Send again".
WEBHOOK_RECORD = ["webhooks.view_event", "webhooks.view_delivery", "webhooks.change_delivery",
                  "webhooks.view_deliverytry"]
ADMIN = [
    *MANAGER,
    "lanes.operate_any_lane",
    *[f"{model.split('.')[0]}.{action}_{model.split('.')[1]}" for model in SETUP_MODELS
      for action in ("add", "change", "view", "delete")],
    *WEBHOOK_RECORD,
]
ORGANISATION_ROLES: dict[str, list[str]] = {"owner": MANAGER, "admin": ADMIN}
# Groups of older versions that gave a store role in every store: migration lanes 0006 turned their members
# into memberships of every store.
RETIRED_GROUPS = ("cashier", "supervisor", "manager")


def ensure_roles(apps: Any) -> None:
    """Create the organisation-wide groups with exactly their permissions (idempotent). `apps`: an app registry."""
    for app_config in apps.get_app_configs():
        # Historical app configs (in a migration) have no models module, and create_permissions skips
        # those; give one for the call and put back what was there.
        previous = getattr(app_config, "models_module", None)
        app_config.models_module = previous or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = previous
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, codes in ORGANISATION_ROLES.items():
        group, _ = group_model.objects.get_or_create(name=name)
        wanted = []
        for code in codes:
            app_label, codename = code.split(".")
            # A permission that a later migration adds does not exist yet when an earlier one runs this:
            # that migration (and every migrate, through post_migrate) runs it again.
            found = permission_model.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if found is not None:
                wanted.append(found)
        group.permissions.set(wanted)
