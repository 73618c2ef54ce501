"""Create or update a merchant, its store, lanes with their terminals, a cashier and staff. Idempotent."""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext

from lanes.commands import ConsoleCommand
from lanes.models import (
    Lane,
    Language,
    Province,
    Store,
    StoreMembership,
    StoreRole,
    Terminal,
    lane_code_validator,
    validate_time_zone,
)
from payments.models import Merchant

LANE_RE = re.compile(r"^(?P<code>[^=]+)=(?P<device>.+)$")
STAFF_RE = re.compile(r"^(?P<name>[^=]+)=(?P<role>supervisor|manager)$")
PASSWORD_ENV = "SETUP_STORE_PASSWORD"  # noqa: S105 - the name of a variable, not a password
ADMIN_PASSWORD_ENV = "SETUP_STORE_ADMIN_PASSWORD"  # noqa: S105


def _fail(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _role_name(role: str) -> str:
    """A role as a word in a sentence: "cashier", « caissier »."""
    return str(StoreRole(role).label).lower()


class Command(ConsoleCommand):
    help = (
        "Set up a store: its merchant at the payment gateway (IOTPay), lanes (CODE=DEVICE) with their PAX terminals, a cashier and staff "
        "(NAME=supervisor|manager, a role in this store only). Safe to run again: what is already as asked is "
        "left untouched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--merchant-id", required=True, help="the merchant's id at the gateway (IOTPay: mchId)")
        parser.add_argument("--merchant-key", default=os.environ.get("IOTPAY_MERCHANT_KEY"),
                            help="the merchant's signing key at the gateway, stored encrypted (default: the IOTPAY_MERCHANT_KEY "
                                 "environment variable, which keeps it out of the process list and shell history)")
        parser.add_argument("--job-no", required=True, help="the merchant's login at the gateway (IOTPay: jobNo)")
        parser.add_argument("--merchant-name", default="", help="defaults to the store name")
        parser.add_argument("--currency", default="CAD")
        parser.add_argument("--store-name", required=True)
        parser.add_argument("--store-address", default=None, help="printed on receipts; use \\n between lines")
        parser.add_argument("--time-zone", default=None, help="the store's time zone, e.g. America/Toronto")
        parser.add_argument("--tips", choices=["on", "off"], default=None, help="let cashiers enter a tip")
        parser.add_argument("--language", choices=list(Language.values), default=None,
                            help="the store's language for staff who have not chosen theirs (fr or en; left "
                                 "unset, the browser's)")
        parser.add_argument("--province", choices=list(Province.values), default=None,
                            help="where the store is (QC, ON, ...): a Quebec store's pages default to French")
        parser.add_argument("--lane", action="append", default=[], metavar="CODE=DEVICE",
                            help="a lane and the device id of its terminal at the gateway (repeatable)")
        parser.add_argument("--cashier", default=None, metavar="USERNAME", help="a cashier allowed on these lanes")
        parser.add_argument("--staff", action="append", default=[], metavar="NAME=ROLE",
                            help="a supervisor or manager of this store only (repeatable), with --password's "
                                 "password")
        parser.add_argument("--password", default=None,
                            help=f"the password of --cashier and --staff (better: the {PASSWORD_ENV} environment "
                                 "variable, or --password-stdin, which keep it out of the process list)")
        parser.add_argument("--password-stdin", action="store_true", help="read that password from standard input")
        parser.add_argument("--admin", default=None, metavar="USERNAME", help="also ensure a superuser")
        parser.add_argument("--admin-password", default=None,
                            help=f"(or the {ADMIN_PASSWORD_ENV} environment variable)")

    def handle(self, *args: Any, **opts: Any) -> None:
        lanes = self._parse_lanes(opts["lane"])
        staff = self._parse_staff(opts["staff"])
        self._passwords(opts)
        self._check(opts)
        self.changes: list[str] = []
        with transaction.atomic():
            merchant = self._merchant(opts)
            store = self._store(opts, merchant)
            lane_objs = [self._lane(store, code, device) for code, device in lanes]
            if opts["cashier"]:
                self._cashier(opts["cashier"], opts["password"], store, lane_objs)
            for name, role in staff:
                self._staff(name, role, opts["password"], store)
            if opts["admin"]:
                self._admin(opts["admin"], opts["admin_password"])
        if self.changes:
            for line in self.changes:
                self.stdout.write(line)
        else:
            self.stdout.write(gettext("Nothing to change: the store is already set up as asked."))

    # --- validation --------------------------------------------------------------------------
    def _parse_lanes(self, values: list[str]) -> list[tuple[str, str]]:
        lanes, codes, devices = [], set(), set()
        for value in values:
            match = LANE_RE.match(value.strip())
            if not match:
                raise _fail(gettext("--lane {value}: expected CODE=DEVICE, e.g. --lane 1=PAX-A920-0001").format(
                    value=repr(value)))
            code, device = match["code"].strip(), match["device"].strip()
            try:
                lane_code_validator(code)
            except ValidationError:
                raise _fail(gettext("--lane {value}: the code may hold letters, digits, - and _ only").format(
                    value=repr(value))) from None
            if len(device) > 64:
                raise _fail(gettext("--lane {value}: the device id is longer than 64 characters").format(
                    value=repr(value)))
            if code in codes or device in devices:
                raise _fail(gettext("--lane {value}: each lane code and each device may appear once").format(
                    value=repr(value)))
            codes.add(code)
            devices.add(device)
            lanes.append((code, device))
        return lanes

    def _parse_staff(self, values: list[str]) -> list[tuple[str, str]]:
        staff = []
        for value in values:
            match = STAFF_RE.match(value.strip())
            if not match or not match["name"].strip():
                raise _fail(gettext("--staff {value}: expected NAME=supervisor or NAME=manager").format(
                    value=repr(value)))
            staff.append((match["name"].strip(), match["role"]))
        return staff

    def _passwords(self, opts: dict[str, Any]) -> None:
        """The password from --password, --password-stdin or the environment; each checked by Django's
        validators (AUTH_PASSWORD_VALIDATORS) before anything is written."""
        if opts["password_stdin"]:
            opts["password"] = sys.stdin.readline().rstrip("\n")
        opts["password"] = opts["password"] or os.environ.get(PASSWORD_ENV) or None
        opts["admin_password"] = opts["admin_password"] or os.environ.get(ADMIN_PASSWORD_ENV) or None
        for option, username in (("password", opts["cashier"] or (opts["staff"] and opts["staff"][0].split("=")[0])),
                                 ("admin_password", opts["admin"])):
            if opts[option] and username:
                user = get_user_model()(username=username)
                try:
                    validate_password(opts[option], user)
                except ValidationError as exc:
                    raise _fail(f"--{option.replace('_', '-')}: " + " ".join(exc.messages)) from None

    def _check(self, opts: dict[str, Any]) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,30}", opts["merchant_id"]):
            raise _fail(gettext("--merchant-id: at most 30 letters or digits"))
        if not (opts["merchant_key"] or "").strip():
            raise _fail(gettext("--merchant-key (or IOTPAY_MERCHANT_KEY) must not be empty"))
        if not 0 < len(opts["job_no"]) <= 50:
            raise _fail(gettext("--job-no: 1 to 50 characters"))
        if not re.fullmatch(r"[A-Z]{3}", opts["currency"]):
            raise _fail(gettext("--currency: three capital letters, e.g. CAD"))
        if not opts["store_name"].strip():
            raise _fail(gettext("--store-name must not be empty"))
        if opts["time_zone"]:
            try:
                validate_time_zone(opts["time_zone"])
            except ValidationError as exc:
                raise _fail(gettext("--time-zone: {why}").format(why=exc.messages[0])) from None
        if bool(opts["cashier"] or opts["staff"]) != bool(opts["password"]):
            raise _fail(gettext("--cashier and --staff need a password (--password, --password-stdin or {ENV}), and a password needs --cashier or --staff").format(
                ENV=PASSWORD_ENV))
        if bool(opts["admin"]) != bool(opts["admin_password"]):
            raise _fail(gettext("--admin and --admin-password (or {ENV}) go together").format(
                ENV=ADMIN_PASSWORD_ENV))

    # --- writes ------------------------------------------------------------------------------
    def _set(self, obj: Any, label: str, **values: Any) -> None:
        changed = [name for name, value in values.items() if value is not None and getattr(obj, name) != value]
        for name in changed:
            setattr(obj, name, values[name])
        if changed:
            obj.save()
            self.changes.append(gettext("Updated {label}: {fields}").format(
                label=label, fields=", ".join(changed)))

    def _merchant(self, opts: dict[str, Any]) -> Merchant:
        name = opts["merchant_name"] or opts["store_name"]
        merchant = Merchant.objects.filter(gateway_account=opts["merchant_id"]).first()
        if merchant is None:
            merchant = Merchant(gateway_account=opts["merchant_id"], name=name, gateway_login=opts["job_no"], currency=opts["currency"])
            merchant.set_key(opts["merchant_key"])
            merchant.save()
            self.changes.append(gettext("Created merchant {account}").format(account=merchant.gateway_account))
            return merchant
        self._set(merchant, gettext("merchant {account}").format(
            account=merchant.gateway_account), gateway_login=opts["job_no"], currency=opts["currency"],
                  name=opts["merchant_name"] or None)
        if not merchant.key_matches(opts["merchant_key"]):
            merchant.set_key(opts["merchant_key"])
            merchant.save()
            self.changes.append(gettext("Updated merchant {account}: key").format(
                account=merchant.gateway_account))
        return merchant

    def _store(self, opts: dict[str, Any], merchant: Merchant) -> Store:
        address = opts["store_address"].replace("\\n", "\n") if opts["store_address"] is not None else None
        tips = None if opts["tips"] is None else opts["tips"] == "on"
        store = Store.objects.filter(name=opts["store_name"]).first()
        if store is None:
            store = Store.objects.create(
                name=opts["store_name"], merchant=merchant, address=address or "",
                time_zone=opts["time_zone"] or "America/Toronto", tips_enabled=bool(tips),
                language=opts["language"] or "", province=opts["province"] or "",
            )
            self.changes.append(gettext("Created store {name}").format(name=store.name))
            return store
        self._set(store, gettext("store {name}").format(name=store.name), merchant=merchant, address=address,
                  time_zone=opts["time_zone"], tips_enabled=tips, language=opts["language"],
                  province=opts["province"])
        return store

    def _lane(self, store: Store, code: str, device: str) -> Lane:
        lane = Lane.objects.filter(code=code).first()
        if lane is None:
            lane = Lane.objects.create(store=store, code=code, name=f"Lane {code}")
            self.changes.append(gettext("Created lane {code}").format(code=code))
        elif lane.store_id != store.pk:
            raise _fail(gettext("--lane {code}={device}: lane {code} belongs to store {name}").format(
                code=code, device=device, name=lane.store.name))
        other = Terminal.objects.filter(device=device).exclude(lane=lane).first()
        if other is not None:
            raise _fail(gettext("--lane {code}={device}: device {device} is the terminal of lane {code2}").format(
                code=code, device=device, code2=other.lane.code))
        terminal = Terminal.objects.filter(lane=lane).first()
        if terminal is None:
            Terminal.objects.create(lane=lane, device=device)
            self.changes.append(gettext("Created terminal {device} for lane {code}").format(
                device=device, code=code))
        else:
            self._set(terminal, gettext("terminal of lane {code}").format(code=code), device=device)
        return lane

    def _user(self, username: str, password: str, label: str) -> Any:
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = user_model.objects.create_user(username=username, password=password)
            self.changes.append(gettext("Created {label} {username}").format(label=label, username=username))
        elif not user.check_password(password):
            user.set_password(password)
            user.save()
            self.changes.append(gettext("Updated {label} {username}: password").format(
                label=label, username=username))
        return user

    def _role(self, user: Any, store: Store, role: str) -> None:
        """The user's role in this store (and no other): created, or changed when it differs."""
        membership = StoreMembership.objects.filter(user=user, store=store).first()
        if membership is None:
            StoreMembership.objects.create(user=user, store=store, role=role)
            self.changes.append(gettext("Gave {username} the {role} role in {name}").format(
                username=user.get_username(), role=_role_name(role), name=store.name))
        elif membership.role != role:
            membership.role = role
            membership.save()
            self.changes.append(gettext("Changed {username}'s role in {name} to {role}").format(
                username=user.get_username(), name=store.name, role=_role_name(role)))

    def _cashier(self, username: str, password: str, store: Store, lanes: list[Lane]) -> None:
        user = self._user(username, password, _role_name(StoreRole.CASHIER))
        if not StoreMembership.objects.filter(user=user, store=store).exists():
            self._role(user, store, StoreRole.CASHIER)
        for lane in lanes:
            if not lane.cashiers.filter(pk=user.pk).exists():
                lane.cashiers.add(user)
                self.changes.append(gettext("Allowed {username} on lane {code}").format(
                    username=username, code=lane.code))

    def _staff(self, username: str, role: str, password: str, store: Store) -> None:
        self._role(self._user(username, password, _role_name(role)), store, role)

    def _admin(self, username: str, password: str) -> None:
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user_model.objects.create_superuser(username=username, password=password)
            self.changes.append(gettext("Created admin {username}").format(username=username))
            return
        if not (user.is_superuser and user.is_staff and user.check_password(password)):
            user.is_superuser = user.is_staff = True
            user.set_password(password)
            user.save()
            self.changes.append(gettext("Updated admin {username}").format(username=username))
