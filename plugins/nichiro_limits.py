"""A memory ceiling for the tasks that read the web.

Under LocalExecutor a task runs in a process forked from the scheduler's side: a document
that decompresses or expands into gigabytes would otherwise grow until the kernel's OOM
killer picks a process, possibly the scheduler. With RLIMIT_AS set in the task's own
process, such an allocation fails inside the task with MemoryError: the task fails (and
the source's failure is recorded), everything else runs on. Containers get a limit of
their own in docker-compose.yml.
"""

from __future__ import annotations

import logging
import os

LOGGER = logging.getLogger(__name__)

#: Address space a fetch task may use, MiB (NICHIRO_TASK_MEMORY_MB; 0 turns it off). Address
#: space, not resident memory: the interpreter, Airflow's task runner and the libraries
#: map about 1.5 GiB before a task reads anything.
DEFAULT_TASK_MEMORY_MB = 4096


def limit_task_memory(megabytes: int | None = None) -> int | None:
    """Cap this process's address space; returns the limit set in bytes (None: off)."""
    import resource

    mb = int(os.environ.get("NICHIRO_TASK_MEMORY_MB", DEFAULT_TASK_MEMORY_MB)
             if megabytes is None else megabytes)
    if mb <= 0:
        return None
    limit = mb * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return limit
