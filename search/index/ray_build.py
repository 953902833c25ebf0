"""Building the shards of a set as Ray tasks, one per shard (`vnsearch index --ray`).

A task is `shard_jobs.run_job`, the very job local builds run in processes: it reads the
corpus and writes its shard at paths every node of the cluster must reach (a shared file
system). Ray places the tasks, one CPU each, and runs a task again when its worker dies (the
job starts its folder afresh); an exception in a job fails the build, and the driver, which
holds the index's write lock, publishes the set only when every shard is complete.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from search.index.raycluster import connect
from search.index.shard_jobs import ShardJob, ShardResult, run_job

#: Times Ray runs a shard's task again after its worker died (not after an exception).
TASK_RETRIES = 2


class RayRunner:
    """Runs build jobs on the Ray cluster at `address` (`auto`: a local instance of `cpus`)."""

    def __init__(self, address: str, cpus: int | None = None) -> None:
        self.address, self.cpus = address, cpus
        #: A cluster's size is Ray's to know; with `cpus` (a local instance) that many.
        self.concurrency = cpus or 1 << 16

    def __call__(self, jobs: Sequence[ShardJob], done: Callable[[ShardResult], None]) -> list[ShardResult]:
        ray, started = connect(self.address, num_cpus=self.cpus)
        try:
            task = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(run_job)
            pending = {task.remote(job): job for job in jobs}
            results: list[ShardResult] = []
            try:
                while pending:
                    ready, _ = ray.wait(list(pending), num_returns=1)
                    for ref in ready:
                        del pending[ref]
                        result = ray.get(ref)  # a job's exception is raised here
                        results.append(result)
                        done(result)
            finally:
                for ref in pending:  # on failure or interruption: stop the others writing
                    ray.cancel(ref, force=True)
            return results
        finally:
            if started:
                ray.shutdown()
