"""Create or update a merchant, its store, lanes with their terminals, and a cashier. Idempotent."""

from __future__ import annotations

import os
import re
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from lanes.models import Lane, Store, Terminal, lane_code_validator, validate_time_zone
from payments.models import Merchant

LANE_RE = re.compile(r"^(?P<code>[^=]+)=(?P<device>.+)$")


def _fail(message: str) -> CommandError:
    return CommandError(message, returncode=2)


class Command(BaseCommand):
    help = (
        "Set up a store: its IOTPay merchant, lanes (CODE=DEVICE) with their PAX terminals and a cashier. "
        "Safe to run again: what is already as asked is left untouched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--merchant-id", required=True, help="IOTPay mchId")
        parser.add_argument("--merchant-key", default=os.environ.get("IOTPAY_MERCHANT_KEY"),
                            help="IOTPay merchant key, stored encrypted (default: the IOTPAY_MERCHANT_KEY "
                                 "environment variable, which keeps it out of the process list and shell history)")
        parser.add_argument("--job-no", required=True, help="IOTPay merchant login name (jobNo)")
        parser.add_argument("--merchant-name", default="", help="defaults to the store name")
        parser.add_argument("--currency", default="CAD")
        parser.add_argument("--store-name", required=True)
        parser.add_argument("--store-address", default=None, help="printed on receipts; use \\n between lines")
        parser.add_argument("--time-zone", default=None, help="the store's time zone, e.g. America/Toronto")
        parser.add_argument("--tips", choices=["on", "off"], default=None, help="let cashiers enter a tip")
        parser.add_argument("--lane", action="append", default=[], metavar="CODE=DEVICE",
                            help="a lane and the IOTPay device id of its PAX terminal (repeatable)")
        parser.add_argument("--cashier", default=None, metavar="USERNAME", help="a cashier allowed on these lanes")
        parser.add_argument("--password", default=None, help="the cashier's password")
        parser.add_argument("--admin", default=None, metavar="USERNAME", help="also ensure a superuser")
        parser.add_argument("--admin-password", default=None)

    def handle(self, *args: Any, **opts: Any) -> None:
        lanes = self._parse_lanes(opts["lane"])
        self._check(opts)
        self.changes: list[str] = []
        with transaction.atomic():
            merchant = self._merchant(opts)
            store = self._store(opts, merchant)
            lane_objs = [self._lane(store, code, device) for code, device in lanes]
            if opts["cashier"]:
                self._cashier(opts["cashier"], opts["password"], lane_objs)
            if opts["admin"]:
                self._admin(opts["admin"], opts["admin_password"])
        if self.changes:
            for line in self.changes:
                self.stdout.write(line)
        else:
            self.stdout.write("Nothing to change: the store is already set up as asked.")

    # --- validation --------------------------------------------------------------------------
    def _parse_lanes(self, values: list[str]) -> list[tuple[str, str]]:
        lanes, codes, devices = [], set(), set()
        for value in values:
            match = LANE_RE.match(value.strip())
            if not match:
                raise _fail(f"--lane {value!r}: expected CODE=DEVICE, e.g. --lane 1=PAX-A920-0001")
            code, device = match["code"].strip(), match["device"].strip()
            try:
                lane_code_validator(code)
            except ValidationError:
                raise _fail(f"--lane {value!r}: the code may hold letters, digits, - and _ only") from None
            if len(device) > 64:
                raise _fail(f"--lane {value!r}: the device id is longer than IOTPay's 64 characters")
            if code in codes or device in devices:
                raise _fail(f"--lane {value!r}: each lane code and each device may appear once")
            codes.add(code)
            devices.add(device)
            lanes.append((code, device))
        return lanes

    def _check(self, opts: dict[str, Any]) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,30}", opts["merchant_id"]):
            raise _fail("--merchant-id: IOTPay's mchId has at most 30 letters or digits")
        if not (opts["merchant_key"] or "").strip():
            raise _fail("--merchant-key (or IOTPAY_MERCHANT_KEY) must not be empty")
        if not 0 < len(opts["job_no"]) <= 50:
            raise _fail("--job-no: IOTPay's jobNo has 1 to 50 characters")
        if not re.fullmatch(r"[A-Z]{3}", opts["currency"]):
            raise _fail("--currency: three capital letters, e.g. CAD")
        if not opts["store_name"].strip():
            raise _fail("--store-name must not be empty")
        if opts["time_zone"]:
            try:
                validate_time_zone(opts["time_zone"])
            except ValidationError as exc:
                raise _fail(f"--time-zone: {exc.messages[0]}") from None
        if bool(opts["cashier"]) != bool(opts["password"]):
            raise _fail("--cashier and --password go together")
        if bool(opts["admin"]) != bool(opts["admin_password"]):
            raise _fail("--admin and --admin-password go together")

    # --- writes ------------------------------------------------------------------------------
    def _set(self, obj: Any, label: str, **values: Any) -> None:
        changed = [name for name, value in values.items() if value is not None and getattr(obj, name) != value]
        for name in changed:
            setattr(obj, name, values[name])
        if changed:
            obj.save()
            self.changes.append(f"Updated {label}: {', '.join(changed)}")

    def _merchant(self, opts: dict[str, Any]) -> Merchant:
        name = opts["merchant_name"] or opts["store_name"]
        merchant = Merchant.objects.filter(mch_id=opts["merchant_id"]).first()
        if merchant is None:
            merchant = Merchant(mch_id=opts["merchant_id"], name=name, job_no=opts["job_no"], currency=opts["currency"])
            merchant.set_key(opts["merchant_key"])
            merchant.save()
            self.changes.append(f"Created merchant {merchant.mch_id}")
            return merchant
        self._set(merchant, f"merchant {merchant.mch_id}", job_no=opts["job_no"], currency=opts["currency"],
                  name=opts["merchant_name"] or None)
        if not merchant.key_matches(opts["merchant_key"]):
            merchant.set_key(opts["merchant_key"])
            merchant.save()
            self.changes.append(f"Updated merchant {merchant.mch_id}: key")
        return merchant

    def _store(self, opts: dict[str, Any], merchant: Merchant) -> Store:
        address = opts["store_address"].replace("\\n", "\n") if opts["store_address"] is not None else None
        tips = None if opts["tips"] is None else opts["tips"] == "on"
        store = Store.objects.filter(name=opts["store_name"]).first()
        if store is None:
            store = Store.objects.create(
                name=opts["store_name"], merchant=merchant, address=address or "",
                time_zone=opts["time_zone"] or "America/Toronto", tips_enabled=bool(tips),
            )
            self.changes.append(f"Created store {store.name}")
            return store
        self._set(store, f"store {store.name}", merchant=merchant, address=address, time_zone=opts["time_zone"],
                  tips_enabled=tips)
        return store

    def _lane(self, store: Store, code: str, device: str) -> Lane:
        lane = Lane.objects.filter(code=code).first()
        if lane is None:
            lane = Lane.objects.create(store=store, code=code, name=f"Lane {code}")
            self.changes.append(f"Created lane {code}")
        elif lane.store_id != store.pk:
            raise _fail(f"--lane {code}={device}: lane {code} belongs to store {lane.store.name}")
        other = Terminal.objects.filter(device=device).exclude(lane=lane).first()
        if other is not None:
            raise _fail(f"--lane {code}={device}: device {device} is the terminal of lane {other.lane.code}")
        terminal = Terminal.objects.filter(lane=lane).first()
        if terminal is None:
            Terminal.objects.create(lane=lane, device=device)
            self.changes.append(f"Created terminal {device} for lane {code}")
        else:
            self._set(terminal, f"terminal of lane {code}", device=device)
        return lane

    def _cashier(self, username: str, password: str, lanes: list[Lane]) -> None:
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = user_model.objects.create_user(username=username, password=password)
            self.changes.append(f"Created cashier {username}")
        elif not user.check_password(password):
            user.set_password(password)
            user.save()
            self.changes.append(f"Updated cashier {username}: password")
        from django.contrib.auth.models import Group

        group = Group.objects.filter(name="cashier").first()
        if group is not None and not user.groups.filter(pk=group.pk).exists():
            user.groups.add(group)
            self.changes.append(f"Added {username} to the cashier group")
        for lane in lanes:
            if not lane.cashiers.filter(pk=user.pk).exists():
                lane.cashiers.add(user)
                self.changes.append(f"Allowed {username} on lane {lane.code}")

    def _admin(self, username: str, password: str) -> None:
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user_model.objects.create_superuser(username=username, password=password)
            self.changes.append(f"Created admin {username}")
            return
        if not (user.is_superuser and user.is_staff and user.check_password(password)):
            user.is_superuser = user.is_staff = True
            user.set_password(password)
            user.save()
            self.changes.append(f"Updated admin {username}")
