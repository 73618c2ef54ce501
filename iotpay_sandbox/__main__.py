"""``python -m iotpay_sandbox``: run the IOTPay sandbox until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import os
import sys
import threading

from .config import DEFAULT_DATA_PATH, SandboxConfig
from .server import run_server


def _merchant(text: str) -> tuple[str, str]:
    mch_id, sep, key = text.partition("=")
    if not sep or not mch_id or not key:
        raise argparse.ArgumentTypeError("expected MCHID=KEY")
    return mch_id, key


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m iotpay_sandbox",
        description="IOTPay SANDBOX (test use only, not IOTPay): create/query/refund_order with virtual PAX "
                    "terminals; outcomes scripted by the amount's cents (see iotpay_sandbox/README.md).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on, 0 for any free (default 8765)")
    parser.add_argument("--merchant", action="append", type=_merchant, default=[], metavar="MCHID=KEY",
                        help="a merchant id and its signing key; repeat for several merchants. Keys given "
                             "here show in `ps`: prefer the IOTPAY_SANDBOX_MERCHANTS environment variable "
                             "(MCHID=KEY[,MCHID=KEY...])")
    parser.add_argument("--think-time", type=float, default=2.0,
                        help="seconds the virtual cardholder takes at the terminal (default 2.0)")
    parser.add_argument("--data", default=DEFAULT_DATA_PATH,
                        help=f"SQLite file for orders, refunds and the request log, or :memory: "
                             f"(default {DEFAULT_DATA_PATH})")
    parser.add_argument("--late-delay", type=float, default=130.0,
                        help="cents 05: seconds the answer is held after the think time (default 130)")
    parser.add_argument("--hang-time", type=float, default=600.0,
                        help="cents 06: seconds the connection is held before it is closed unanswered "
                             "(default 600)")
    parser.add_argument("--interactive-timeout", type=float, default=120.0,
                        help="cents 99: seconds to wait for a press on the terminal page (default 120)")
    parser.add_argument("--outage-time", type=float, default=30.0,
                        help="cents 22: seconds query_order answers 503 for the order once it is paid "
                             "(default 30)")
    parser.add_argument("--idle-timeout", type=float, default=60.0,
                        help="seconds a kept-alive connection may wait for its next request before the sandbox "
                             "closes it, as a gateway's load balancer does (default 60)")
    parser.add_argument("--idle-race", type=float, default=0.0,
                        help="seconds: a request that comes on a kept-alive connection idle at least this long is "
                             "dropped unread and unanswered, as when the load balancer's close of an idle "
                             "connection crosses the client's request (default 0: never)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr (never keys)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    merchants = dict(args.merchant)
    for item in filter(None, os.environ.get("IOTPAY_SANDBOX_MERCHANTS", "").split(",")):
        try:
            mch_id, key = _merchant(item.strip())
        except argparse.ArgumentTypeError:
            parser.error("IOTPAY_SANDBOX_MERCHANTS: expected MCHID=KEY[,MCHID=KEY...]")
        merchants.setdefault(mch_id, key)
    if not merchants:
        parser.error("no merchant: give --merchant MCHID=KEY or set IOTPAY_SANDBOX_MERCHANTS")
    config = SandboxConfig(
        host=args.host, port=args.port, merchants=merchants, think_time=args.think_time,
        data_path=args.data, late_delay=args.late_delay, hang_time=args.hang_time,
        interactive_timeout=args.interactive_timeout, outage_time=args.outage_time,
        idle_timeout=args.idle_timeout, idle_race=args.idle_race, verbose=args.verbose,
    )
    # A thousand calls held open means a thousand threads; they need far less than the default stack.
    threading.stack_size(2 * 1024 * 1024)
    try:
        run_server(config)
    except OSError as exc:
        print(f"iotpay-sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
