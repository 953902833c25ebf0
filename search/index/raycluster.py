"""Connecting to Ray, for the commands asked to use it (`--ray auto|ADDRESS`).

Ray is imported inside these functions only: nothing else in the package imports it, so an
installation without the `ray` extra, and every command run without `--ray`, never loads it.
`auto` starts a Ray instance on this machine, sized for a shared machine (the CPUs given, a
small object store: shards travel by path, and only query answers go through Ray); any other
address is an existing cluster's, as `ray.init(address=...)` takes it.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from types import ModuleType

AUTO = "auto"
#: The object store of a local instance: answers are small, and Ray refuses less than 75 MiB.
LOCAL_OBJECT_STORE_BYTES = 128 << 20


class RayMissing(RuntimeError):
    """`--ray` was asked for but Ray is not installed."""


def namespace_for(index_dir: Path) -> str:
    """The Ray namespace of the service of one index folder: its actors' names are unique
    within it, so two services on one cluster never answer for each other."""
    return "vnsearch-" + hashlib.sha256(str(index_dir.resolve()).encode("utf-8")).hexdigest()[:12]


def import_ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise RayMissing("Ray is not installed: pip install -c constraints.txt -e '.[ray]'") from None
    return ray


def connect(address: str, namespace: str | None = None, num_cpus: int | None = None) -> tuple[ModuleType, bool]:
    """Ray, initialised for `address` (`auto`: a new local instance with `num_cpus`), and
    whether this call initialised it (then the caller shuts it down when done)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    quiet = dict(namespace=namespace, log_to_driver=False, logging_level=logging.WARNING)
    if address == AUTO:
        ray.init(num_cpus=num_cpus, object_store_memory=LOCAL_OBJECT_STORE_BYTES, include_dashboard=False, **quiet)
    else:
        ray.init(address=address, **quiet)
    return ray, True


def gcs_address(ray: ModuleType) -> str:
    """Where other processes (the gunicorn workers) connect to the instance this one joined."""
    return str(ray.get_runtime_context().gcs_address)
