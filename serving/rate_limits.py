"""Rate limits per key and per role (OWASP API4): requests a minute, and batch cases a minute.

Counted in one small SQLite file that every worker process of the service shares
(``SVRISK_RATE_LIMIT_DB``), not per worker: BentoML hands each connection to one
worker, so a client on one keep-alive connection would meet a per-worker share
(the limit divided by the workers) long before its real limit. The shared count
is exact across workers for the price of one small write per request
(write-ahead log, no fsync: the counts are worth nothing after a crash).

Windows are calendar minutes (UTC): a caller may spend its limit at the end of
one minute and again at the start of the next. A key is counted by its holder's
name, so an old and a new key of one holder share one budget during a rotation.
A refused request is not counted. When the counter file stays locked for longer
than :data:`COUNTER_BUSY_TIMEOUT_S` the request is refused with 503 (fail closed)
rather than let through unlimited.

The guard and the workspace charge on their event loop first, without waiting
(``wait=False``; :meth:`RateLimiter.charge_on_loop`): the write takes microseconds,
while a hop to a thread cost about 0.5 ms a request in benchmarks/serve.py. Only when
another worker holds the counter do they charge again in a thread, where waiting for
the lock stalls nothing else.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from serving.api_keys import Principal
from serving.audit_trail import sqlite_lock_taken
from serving.errors import RateLimited, ServiceBusy
from serving.settings import ServingSettings

WINDOW_S = 60
# The guard counts in a thread, so a wait does not stall the worker; past this, fail closed.
COUNTER_BUSY_TIMEOUT_S = 3.0
COUNTER_BUSY_RETRY_S = 1
ERR_RATE_LIMITED = "rate limit: {who} may make {limit} {what} a minute; try again in {retry} s"
ERR_COUNTER_BUSY = "rate limit counter busy; try again shortly"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS rate_counts (bucket TEXT NOT NULL, minute INTEGER NOT NULL, "
    "requests INTEGER NOT NULL DEFAULT 0, cases INTEGER NOT NULL DEFAULT 0, "
    "PRIMARY KEY (bucket, minute))"
)
_CHARGE = (
    "INSERT INTO rate_counts (bucket, minute, requests, cases) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (bucket, minute) DO UPDATE SET requests = requests + excluded.requests, "
    "cases = cases + excluded.cases RETURNING requests, cases"
)


class RateLimiter:
    """Charge requests and cases to a caller's key and role for the current minute.

    Parameters
    ----------
    path : Path
        The counter file (created if missing); the same file for every worker.
    requests_per_key, cases_per_key : int
        Each key's limits a minute.
    role_limits : dict
        Role -> :class:`serving.settings.RoleRateLimit`: totals a minute for all keys of the role.
    clock : callable
        Seconds since the epoch (tests pass a fixed clock).
    """

    def __init__(
        self,
        path: Path,
        requests_per_key: int,
        cases_per_key: int,
        role_limits: dict | None = None,
        clock=time.time,  # noqa: ANN001 - any callable returning seconds
    ) -> None:
        self.path = path
        self.requests_per_key = requests_per_key
        self.cases_per_key = cases_per_key
        self.role_limits = role_limits or {}
        self.clock = clock
        # One connection that waits for the counter's lock, one that never does (wait=False).
        self._connections: dict[bool, sqlite3.Connection] = {}
        self._locks = {True: threading.Lock(), False: threading.Lock()}
        self._pruned_window = -1

    @classmethod
    def from_settings(cls, settings: ServingSettings) -> RateLimiter:
        return cls(
            settings.rate_limit_db,
            settings.rate_limit_requests,
            settings.rate_limit_cases,
            dict(settings.rate_limit_roles),
        )

    def _connect(self, wait: bool) -> sqlite3.Connection:
        if wait not in self._connections:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode (isolation_level None): the transactions below are explicit.
            connection = sqlite3.connect(
                self.path, timeout=COUNTER_BUSY_TIMEOUT_S if wait else 0, isolation_level=None,
                check_same_thread=False,
            )  # fmt: skip
            try:
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute("PRAGMA synchronous = OFF")
                connection.execute(_SCHEMA)
            except sqlite3.Error:
                # The no-wait connection can meet the lock here while the file is not yet
                # in WAL mode; the next charge connects again.
                connection.close()
                raise
            self._connections[wait] = connection
        return self._connections[wait]

    def charge(self, principal: Principal, *, requests: int = 0, cases: int = 0, wait: bool = True) -> bool:
        """Count ``requests`` and ``cases`` for the caller, or refuse and count nothing.

        With ``wait=False`` nothing waits for a lock: when another connection holds the
        counter, nothing is counted and the answer is False (charge again with ``wait=True``).

        Returns
        -------
        bool
            True when counted.

        Raises
        ------
        RateLimited
            (429) When the key's or the role's count would pass its limit this minute.
        ServiceBusy
            (503) When the counter file stays locked by other workers.
        """
        now = self.clock()
        window = int(now // WINDOW_S)
        retry = math.ceil((window + 1) * WINDOW_S - now)
        limits = [(f"key:{principal.name}", principal.name, self.requests_per_key, self.cases_per_key)]
        role = self.role_limits.get(principal.role)
        if role is not None:
            limits.append((f"role:{principal.role}", f"role {principal.role}", role.requests, role.cases))
        lock = self._locks[wait]
        if not lock.acquire(blocking=wait):
            return False
        try:
            self._charge(self._connect(wait), window, retry, limits, requests, cases)
        except sqlite3.OperationalError as exc:
            if not wait and sqlite_lock_taken(exc):
                return False
            raise ServiceBusy(ERR_COUNTER_BUSY, COUNTER_BUSY_RETRY_S) from None
        finally:
            lock.release()
        return True

    async def charge_on_loop(self, principal: Principal, *, requests: int = 0, cases: int = 0) -> None:
        """:meth:`charge` from an event loop; raises what it raises."""
        # On the loop when the shared counter is free (no hop to a thread); when another
        # worker holds it, in a thread, so that wait does not stall this worker's probes.
        if not self.charge(principal, requests=requests, cases=cases, wait=False):
            await run_in_threadpool(self.charge, principal, requests=requests, cases=cases)

    def _charge(
        self, connection: sqlite3.Connection, window: int, retry: int, limits: list, requests: int, cases: int
    ) -> None:
        # IMMEDIATE: take the write lock first, so two workers never both read then write.
        connection.execute("BEGIN IMMEDIATE")
        try:
            for bucket, who, max_requests, max_cases in limits:
                used_requests, used_cases = connection.execute(
                    _CHARGE, (bucket, window, requests, cases)
                ).fetchone()
                for used, limit, what in ((used_requests, max_requests, "requests"),
                                          (used_cases, max_cases, "batch cases")):  # fmt: skip
                    if limit is not None and used > limit:
                        raise RateLimited(
                            ERR_RATE_LIMITED.format(who=who, limit=limit, what=what, retry=retry),
                            retry,
                        )
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        if window != self._pruned_window:
            # Once a minute per worker: earlier minutes are never read again.
            connection.execute("DELETE FROM rate_counts WHERE minute < ?", (window - 1,))
            self._pruned_window = window
        connection.execute("COMMIT")

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

