"""`vnsearch serve --ray`: the shards' searchers as Ray actors, the Falcon front in gunicorn.

This process is the actors' owner and gunicorn's parent: it joins Ray (`auto` starts it here),
creates R actors per shard and waits until each has opened its shard, then runs gunicorn with
the Ray address in `VNSEARCH_RAY_ADDRESS`, so that every worker connects and fans its queries
out to the actors (`search.searching.ray_shards`). While gunicorn runs it watches the index:
a rebuild with another number of shards gets actors of its own (the old ones are let go once
the new ones answer). SIGINT and SIGTERM go on to gunicorn; when it has stopped, the actors
are killed and a Ray instance started here is shut down.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import click

from search.index.raycluster import connect, gcs_address, namespace_for
from search.index.shards import live_set
from search.searching.ray_shards import start_actors
from search.settings import Settings

#: Seconds between looks at the index for a set rebuilt with another number of shards.
WATCH_SECONDS = 1.0


def serve_on_ray(
    address: str, index_dir: Path, replicas: int, settings: Settings, argv: list[str], env: dict[str, str]
) -> int:
    """Serve until gunicorn exits; its exit status."""
    ray, started = connect(address, namespace=namespace_for(index_dir), num_cpus=settings.index_procs)
    actors: dict[int, list[Any]] = {}
    memory = {"scored_bytes": settings.scored_cache_mib << 20, "postings_bytes": settings.postings_cache_mib << 20}
    try:
        count = _shards(index_dir)
        actors[count] = start_actors(index_dir, count, replicas, settings.utc_offset, **memory)
        click.echo(f"Ray: {count} shard(s) × {replicas} replica(s) at {gcs_address(ray)}")
        # This environment now has Ray's settings made by joining (the token authentication a
        # new instance turns on), which the workers need to join too; then the service's.
        ours = {name: value for name, value in env.items() if name.startswith("VNSEARCH_")}
        ours.update(VNSEARCH_RAY_ADDRESS=gcs_address(ray), VNSEARCH_RAY_REPLICAS=str(replicas))
        env = dict(os.environ, **ours)
        gunicorn = subprocess.Popen(argv, env=env)
        forward = lambda signum, frame: gunicorn.send_signal(signum)  # noqa: E731
        previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while gunicorn.poll() is None:
                time.sleep(WATCH_SECONDS)
                now = _shards(index_dir, default=count)
                if now != count:
                    actors[now] = start_actors(index_dir, now, replicas, settings.utc_offset, **memory)
                    for actor in actors.pop(count):
                        ray.kill(actor)
                    count = now
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return gunicorn.wait()
    finally:
        for group in actors.values():
            for actor in group:
                ray.kill(actor)
        if started:
            ray.shutdown()


def _shards(index_dir: Path, default: int | None = None) -> int:
    """Shards of the live set (an index in today's layout is a set of one)."""
    try:
        return live_set(index_dir)[1].shards
    except Exception:
        if default is None:
            raise
        return default  # being switched, or unreadable for a moment: keep what is served
