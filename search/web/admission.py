"""How many searches one worker runs at once, the others waiting their turn in order of arrival.

A search is CPU work under one interpreter lock. A threaded worker that starts every request at
once shares its core between them in small slices, so four concurrent searches each end about
when the last of them does: every answer is as late as the slowest, and the switching costs
time of its own. Admitting `slots` at a time and queueing the rest first in, first out (as
search engines size a search thread pool to the cores and queue behind it) lets each search run
to the end once it starts: a request waits for the ones ahead of it, never for the ones after.
The connection threads stay many, so a slow client still holds only its thread.

A request that cannot start within the wait allowed (the search budget) is answered 503 with
`Retry-After`: the worker is overloaded, and a prompt refusal serves the client better than an
answer that comes after it gave up. Under gunicorn the slot is handed on once the answer is out
(or writing it would wait on the client), not while this thread still has it to write.
Writes are never queued here (they wait for the index's lock instead), and neither are the
cheap routes (health, metrics, static files).
"""

from __future__ import annotations

import threading
from collections import deque

import falcon

__all__ = ["HAND_OVER", "Admission", "AdmissionControl", "Overloaded"]

#: The environ key of a list the server puts there for the calls that give slots back once the
#: answer has been written (`search.web.one_write`); without it a slot is left when Falcon is done.
HAND_OVER = "vnsearch.hand_over"

#: Methods whose requests take a slot: the reading ones.
GATED_METHODS = frozenset({"GET", "HEAD"})


class Overloaded(Exception):
    """No slot came free within the wait allowed."""


class Admission:
    """At most `slots` holders at once; the others are let in in the order they came."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("admission needs at least one slot")
        self._lock = threading.Lock()
        self._free = slots
        self._waiting: deque[threading.Lock] = deque()

    def enter(self, timeout: float) -> bool:
        """Take a slot, waiting at most `timeout` seconds for it; False when none came free."""
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        if turn.acquire(timeout=timeout):
            return True
        with self._lock:
            if turn in self._waiting:
                self._waiting.remove(turn)
                return False
        return True  # `leave` handed this waiter the slot as its wait ran out

    def leave(self) -> None:
        """Give the slot back: to the first waiter, or to the free ones."""
        with self._lock:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._free += 1

    @property
    def waiting(self) -> int:
        """Requests queued for a slot now."""
        with self._lock:
            return len(self._waiting)


class AdmissionControl:
    """Falcon middleware: the reading requests of `gated` resources run inside a slot."""

    def __init__(self, admission: Admission, gated: tuple[object, ...], wait: float) -> None:
        self.admission, self.wait = admission, wait
        self._gated = frozenset(id(resource) for resource in gated)

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: object, params: dict) -> None:
        if resource is None or id(resource) not in self._gated or req.method not in GATED_METHODS:
            return
        if not self.admission.enter(self.wait):
            raise Overloaded()
        req.context.admitted = True

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        if req.context.get("admitted"):
            req.context.admitted = False
            hand_over = req.env.get(HAND_OVER)
            if hand_over is None:
                self.admission.leave()
            else:
                hand_over.append(self.admission.leave)
