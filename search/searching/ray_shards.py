"""Shards searched by Ray actors (`vnsearch serve --ray`): each shard's `ShardSearcher` in R
actors (replicas), and the front's `ShardSet` that reaches them.

Why actors: a shard's searcher is state worth keeping (its open segments, its arrays, its
postings cache), and Ray places actors on the cluster's nodes, restarts a dead one
(`max_restarts`) by running its constructor again (which opens the shard again), and finds
them by name from any process of the cluster. The front (each gunicorn worker, a Ray driver of
its own) sends each call to one replica of every shard at once and waits for all of them up to
the call's time; a replica that fails is left alone for a moment and the call goes to another,
and a shard none of whose replicas answers is reported missing: the search is then partial,
never an error. Retrying and failover are Ray's errors handled here; detecting failures and
restarting is Ray's own.

Ray is imported by this module: only the Ray path of `search.web.holder` and the serve command
import it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from search.index.engine.segments import POSTINGS_BYTES
from search.index.raycluster import connect, import_ray, namespace_for
from search.searching.evaluate import SCORED_BYTES
from search.searching.shard import ShardSearcher

#: Times Ray restarts a dead actor: always (a shard must come back).
MAX_RESTARTS = -1
#: Seconds a call without a time budget waits for a shard.
CALL_TIMEOUT = 30.0
#: Seconds a replica that failed is asked last, while Ray restarts it.
RESTING = 2.0
#: Seconds after which a shard that has not answered is asked of another replica as well.
HEDGE = 0.2


def actor_name(shards: int, shard: int, replica: int) -> str:
    """Names carry the number of shards: a set rebuilt with another number gets new actors."""
    return f"of{shards}-shard{shard}-r{replica}"


class ShardActor:
    """One replica of one shard (made a Ray actor class by `start_actors`)."""

    def __init__(
        self, index_dir: str, shard: int, scored_bytes: int, utc_offset_minutes: int, postings_bytes: int
    ) -> None:
        offset = dt.timedelta(minutes=utc_offset_minutes)
        self.searcher = ShardSearcher(Path(index_dir), shard, scored_bytes, offset, postings_bytes)

    def call(self, method: str, args: tuple) -> Any:
        return getattr(self.searcher, method)(*args)

    def pid(self) -> int:
        return os.getpid()


def start_actors(
    index_dir: Path,
    shards: int,
    replicas: int,
    utc_offset: dt.timedelta,
    scored_bytes: int = SCORED_BYTES,
    postings_bytes: int = POSTINGS_BYTES,
) -> list[Any]:
    """Create every replica of every shard of the set in `index_dir`, in the namespace of that
    folder, owned by the calling driver (they end with it), and wait until each has opened its
    shard. Replicas of a shard
    are spread over the nodes; an actor holds no CPU while it waits for calls."""
    ray = import_ray()
    remote = ray.remote(ShardActor)
    actors = [
        remote.options(
            name=actor_name(shards, shard, replica),
            namespace=namespace_for(index_dir),
            max_restarts=MAX_RESTARTS,
            max_task_retries=0,
            num_cpus=0,
            scheduling_strategy="SPREAD",
        ).remote(str(index_dir.resolve()), shard, scored_bytes, int(utc_offset.total_seconds() // 60), postings_bytes)
        for shard in range(shards)
        for replica in range(replicas)
    ]
    ray.get([actor.pid.remote() for actor in actors])
    return actors


class RayShards:
    """The `ShardSet` of actors named for the index in `index_dir` on the Ray cluster at
    `address`, `replicas` of them per shard."""

    def __init__(self, address: str, index_dir: Path, replicas: int) -> None:
        self.namespace = namespace_for(index_dir)
        self.ray, _ = connect(address, namespace=self.namespace)
        self.replicas = replicas
        self._handles: dict[tuple[int, int, int], Any] = {}
        self._resting: dict[tuple[int, int], float] = {}
        self._turn = itertools.count()
        exceptions = self.ray.exceptions
        #: What a call to a replica that is down or restarting raises.
        self._down = (
            exceptions.RayActorError,
            exceptions.ObjectLostError,
            exceptions.OwnerDiedError,
            exceptions.RaySystemError,
        )

    def _handle(self, shards: int, shard: int, replica: int) -> Any | None:
        key = (shards, shard, replica)
        found = self._handles.get(key)
        if found is None:
            try:
                found = self._handles[key] = self.ray.get_actor(actor_name(*key), namespace=self.namespace)
            except ValueError:  # not created (yet): the supervisor makes a set's actors
                return None
        return found

    def _order(self, shard: int) -> list[int]:
        """The replicas of a shard in the order to ask them: taking turns, resting ones last."""
        turn = next(self._turn)
        now = time.monotonic()
        rotated = [(turn + i) % self.replicas for i in range(self.replicas)]
        return sorted(rotated, key=lambda replica: self._resting.get((shard, replica), 0.0) > now)

    def call(
        self, method: str, args: Callable[[int], tuple], shards: Sequence[int], count: int, timeout: float | None = None
    ) -> tuple[dict[int, Any], list[int]]:
        """One replica of each shard is asked; a shard that has not answered within `HEDGE`
        seconds (its replica restarting, or slow) is asked of its next replica too, and the
        first answer counts. A replica whose call fails rests for `RESTING` seconds."""
        deadline = time.monotonic() + (CALL_TIMEOUT if timeout is None else timeout)
        pending: dict[Any, tuple[int, int]] = {}
        left = {shard: self._order(shard) for shard in shards}
        answers: dict[int, Any] = {}

        def send(shard: int) -> None:
            while left[shard]:
                replica = left[shard].pop(0)
                handle = self._handle(count, shard, replica)
                if handle is not None:
                    pending[handle.call.remote(method, args(shard))] = (shard, replica)
                    return

        for shard in shards:
            send(shard)
        hedge_at = time.monotonic() + HEDGE
        while pending:
            now = time.monotonic()
            if now >= deadline:
                break
            wait = min(deadline, hedge_at) if any(left[shard] for shard, _ in pending.values()) else deadline
            ready, _ = self.ray.wait(list(pending), num_returns=1, timeout=max(0.0, wait - now))
            if not ready:
                if time.monotonic() >= hedge_at:
                    for shard in {shard for shard, _ in pending.values()}:
                        send(shard)
                    hedge_at = time.monotonic() + HEDGE
                continue
            shard, replica = pending.pop(ready[0])
            try:
                answers[shard] = self.ray.get(ready[0])
            except self._down:
                self._resting[(shard, replica)] = time.monotonic() + RESTING
                self._handles.pop((count, shard, replica), None)  # it may be made anew: look it up again
                if not any(other == shard for other, _ in pending.values()):
                    send(shard)
                continue
            for ref in [ref for ref, (other, _) in pending.items() if other == shard]:
                del pending[ref]  # a hedge that lost: its answer is not waited for
        return answers, sorted(shard for shard in shards if shard not in answers)
