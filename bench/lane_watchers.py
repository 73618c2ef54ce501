"""Many lanes' websockets held by a process of their own, on one event loop: the checkout pages of a busy store.

Why not ``lane_client.LaneWatcher`` (a thread per websocket in the benchmark's own process) for hundreds of lanes:
there, the 500 reader threads share Python's lock with the threads that POST the payments. A reader woken by a
push waits for that lock while POSTing threads hold it, so the time it writes down is later than when the page
would have had the push, and the 500 threads cost the machine's two cores more than the reading itself. Each real
checkout page is a browser on its own computer. Here one event loop in a separate process reads every lane and
writes down ``time.time()`` as each message arrives, before parsing it; the POSTing threads have their process to
themselves.

The parent talks to the process through a pipe: ``wait_finals`` (each lane's first push of an attempt in one of
the given statuses), ``closed_by_server`` and ``close``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from bench.lane_client import Received, close_text, first_push

OPEN_AT_ONCE = 16  # websockets opened at the same time: Daphne authenticates each on connect
START_TIMEOUT = 120.0


@dataclass
class _Lane:
    url: str
    ws: ClientConnection | None = None
    received: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    closing: bool = False

    def first(self, attempt_id: int, statuses: Collection[str]) -> Received | None:
        return first_push(self.received, attempt_id, statuses)

    async def read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                wall, mono = time.time(), time.monotonic()  # as it arrives: parsing comes after
                self.received.append(Received(wall, mono, json.loads(raw)))
                self.arrived.set()
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            self.arrived.set()

    async def wait(self, attempt_id: int, statuses: Collection[str], deadline: float) -> Received | None:
        while (found := self.first(attempt_id, statuses)) is None and not self.closed:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                return self.first(attempt_id, statuses)
        return found

    def closed_by_server(self) -> str | None:
        if not self.closed or self.closing or self.ws is None:
            return None
        return close_text(self.ws.close_code, self.ws.close_reason)


async def _serve(conn: Connection, base_url: str, codes: list[str], cookie: str) -> None:
    ws_base = base_url.replace("http://", "ws://", 1)
    lanes = {code: _Lane(f"{ws_base}/ws/lanes/{code}/") for code in codes}
    opening = asyncio.Semaphore(OPEN_AT_ONCE)
    readers: list[asyncio.Task[None]] = []

    async def open_lane(lane: _Lane) -> None:
        async with opening:
            lane.ws = await connect(lane.url, additional_headers={"Cookie": cookie}, origin=Origin(base_url),
                                    open_timeout=15, proxy=None, max_queue=None)
        readers.append(asyncio.create_task(lane.read()))

    try:
        await asyncio.gather(*(open_lane(lane) for lane in lanes.values()))
    except Exception as exc:  # told to the parent, which raises it
        conn.send(("error", f"{exc.__class__.__name__}: {exc}"))
        return
    conn.send(("opened", len(lanes)))
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

    def on_command() -> None:
        try:
            command = conn.recv()
        except (EOFError, OSError):  # the benchmark is gone: close the websockets and leave
            loop.remove_reader(conn.fileno())
            command = ("close",)
        commands.put_nowait(command)

    loop.add_reader(conn.fileno(), on_command)
    while True:
        command = await commands.get()
        if command[0] == "wait":
            _, expected, statuses, timeout = command
            deadline = time.monotonic() + timeout
            found = await asyncio.gather(*(lanes[code].wait(attempt_id, statuses, deadline)
                                           for code, attempt_id in expected.items()))
            conn.send({code: item for code, item in zip(expected, found, strict=True) if item is not None})
        elif command[0] == "closed":
            conn.send({code: why for code, lane in lanes.items() if (why := lane.closed_by_server())})
        elif command[0] == "close":
            with contextlib.suppress(ValueError, OSError):  # already removed when the benchmark went away
                loop.remove_reader(conn.fileno())
            for lane in lanes.values():
                lane.closing = True
            await asyncio.gather(*(lane.ws.close() for lane in lanes.values() if lane.ws is not None),
                                 return_exceptions=True)
            await asyncio.gather(*readers, return_exceptions=True)
            with contextlib.suppress(OSError):
                conn.send("closed")
            return


def _main(conn: Connection, base_url: str, codes: list[str], cookie: str) -> None:
    asyncio.run(_serve(conn, base_url, codes, cookie))


class LaneWatchers:
    """The lanes' websockets, opened in a process of their own; see the module's docstring."""

    def __init__(self, base_url: str, codes: list[str], sessionid: str) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads and Django loaded
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_main, args=(child, base_url, codes, f"sessionid={sessionid}"),
                                        name="lane-watchers", daemon=True)
        self._process.start()
        child.close()
        if not self._conn.poll(START_TIMEOUT):
            self._process.kill()
            raise RuntimeError(f"the lane watchers did not open {len(codes)} websockets in {START_TIMEOUT:.0f} s")
        answer = self._conn.recv()
        if answer[0] != "opened":
            self._process.join(5)
            raise RuntimeError(f"the lane watchers could not open the websockets: {answer[1]}")

    @property
    def pid(self) -> int:
        pid = self._process.pid
        assert pid is not None  # started
        return pid

    def wait_finals(self, expected: Mapping[str, int], statuses: Collection[str], timeout: float) -> dict[str, Received]:
        """For each lane, its first push of ``expected[lane]`` (an attempt's id) in one of ``statuses``; a lane
        whose push did not come within ``timeout`` seconds (or whose websocket closed) is left out."""
        self._conn.send(("wait", dict(expected), list(statuses), timeout))
        found: dict[str, Received] = self._conn.recv()
        return found

    def closed_by_server(self) -> dict[str, str]:
        """The lanes whose websocket the server closed, and how."""
        self._conn.send(("closed",))
        closed: dict[str, str] = self._conn.recv()
        return closed

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError):
            self._conn.send(("close",))
            if self._conn.poll(30):
                self._conn.recv()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
        self._conn.close()
