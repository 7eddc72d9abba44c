"""Failed password sign-ins, throttled per client address and per account name with growing delays.

Nothing is ever locked: after ``free`` failures, a further attempt waits ``2**k`` seconds after
the last failure (``k`` the failures past the free ones, the wait capped at ``delay_max_s``), and
is refused (429 with ``Retry-After``) before any password is checked while it has not waited.

* **Per client address**: one address spraying one password over many names is slowed down by
  its own failures, whatever names it tries. IPv6 addresses count per /64 network (one host is
  given a whole /64, so counting single addresses would throttle nothing).
* **Per account name**: many addresses guessing one name are slowed down together, but only
  addresses that have failed themselves: a client address without failures is never delayed, so
  someone failing on ``admin`` from elsewhere cannot keep the real admin out.

An attempt counts as a failure from the moment it is admitted (a burst of parallel attempts
cannot pass the free ones together), and is forgiven if the password was right or was never
checked. A success also clears its name's failures; never its address's (an account of one's own
would otherwise reset a sprayer's count). A record is forgotten ``FORGET_S`` after its last
failure, and each table holds at most ``MAX_TRACKED`` records (past that the record failed least
recently is dropped), so an attacker cannot grow the memory. Time is the engine's clock; the
records are per server process.
"""

from __future__ import annotations

import ipaddress
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from fastapi import Request

from ..clock import Clock

FORGET_S = 3600.0  # a record's failures are forgotten an hour after its last one
MAX_TRACKED = 10_000  # records per table (addresses, names)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class _Failures:
    count: int
    last: datetime


@dataclass(frozen=True)
class Wait:
    """An attempt refused before its password is checked: how long to wait, and whose failures."""

    seconds: int
    because: Literal["address", "name"]


class _Table:
    """Failures per key, the record failed least recently first (it goes first when the table is full)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._rows: OrderedDict[str, _Failures] = OrderedDict()

    def get(self, key: str, now: datetime) -> _Failures | None:
        row = self._rows.get(key)
        if row is not None and (now - row.last).total_seconds() >= FORGET_S:
            del self._rows[key]
            return None
        return row

    def fail(self, key: str, now: datetime) -> None:
        row = self.get(key, now)
        if row is None:
            while len(self._rows) >= self.limit:
                self._rows.popitem(last=False)
            self._rows[key] = _Failures(1, now)
        else:
            row.count, row.last = row.count + 1, max(row.last, now)
            self._rows.move_to_end(key)

    def forgive(self, key: str) -> None:
        row = self._rows.get(key)
        if row is not None:
            row.count -= 1
            if row.count <= 0:
                del self._rows[key]

    def clear(self, key: str) -> None:
        self._rows.pop(key, None)

    def __len__(self) -> int:
        return len(self._rows)


class Throttle:
    """The sign-in throttle of one server process (see the module's docstring)."""

    def __init__(self, clock: Clock, *, free: int, delay_max_s: int, limit: int = MAX_TRACKED) -> None:
        self.clock, self.free, self.delay_max_s = clock, free, delay_max_s
        self.addresses, self.names = _Table(limit), _Table(limit)
        self._lock = threading.Lock()

    def delay(self, failures: int) -> int:
        """Seconds a further attempt waits after the last of ``failures`` failures (0 while some are free)."""
        if failures < self.free:
            return 0
        return min(self.delay_max_s, 1 << min(failures - self.free, 62))

    def admit(self, address: str, name: str) -> Wait | None:
        """Admit an attempt of ``name`` from ``address`` (counted as a failure until ``forgive``), or
        say how long it must wait."""
        now, name = self.clock.now(), _name_key(name)
        with self._lock:
            mine = self.addresses.get(address, now)
            if mine is not None and (wait := self._left(mine, now)):
                return Wait(wait, "address")
            theirs = self.names.get(name, now)
            if mine is not None and theirs is not None and (wait := self._left(theirs, now)):
                return Wait(wait, "name")
            self.addresses.fail(address, now)
            self.names.fail(name, now)
        return None

    def forgive(self, address: str, name: str, *, signed_in: bool) -> None:
        """The admitted attempt was no failure: its password was never checked, or was right
        (``signed_in``: then the name's failures are cleared too)."""
        name = _name_key(name)
        with self._lock:
            self.addresses.forgive(address)
            if signed_in:
                self.names.clear(name)
            else:
                self.names.forgive(name)

    def _left(self, failures: _Failures, now: datetime) -> int:
        waited = max(0.0, (now - failures.last).total_seconds())
        return max(0, math.ceil(self.delay(failures.count) - waited))


def _name_key(name: str) -> str:
    return name.strip().lower()[:64]


def networks(texts: tuple[str, ...] | list[str]) -> tuple[Network, ...]:
    """The networks of ``trusted_proxies`` (``10.0.0.1``, ``10.0.0.0/8``, ``::1``); ValueError names a bad one."""
    return tuple(ipaddress.ip_network(text.strip(), strict=False) for text in texts)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        found = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


def client_address(request: Request, trusted: tuple[Network, ...]) -> str:
    """The address a request comes from, as the throttle counts it: the socket's peer, or, when the
    peer is a trusted proxy, the nearest address of ``X-Forwarded-For`` that is not one (a client
    writes what it likes at the left of that header; each trusted proxy appends who it heard)."""
    peer = request.client.host if request.client is not None else ""
    client = _address(peer)
    if client is None:
        return peer or "(unknown)"
    chain = [part for value in request.headers.getlist("x-forwarded-for") for part in value.split(",")]
    while chain and any(client in net for net in trusted):
        previous = _address(chain.pop())
        if previous is None:  # a trusted proxy would not write that: the proxy is the client we know
            break
        client = previous
    if isinstance(client, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((client, 64), strict=False))
    return str(client)
