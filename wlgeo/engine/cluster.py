"""The dask engine: the partitioned plan (:mod:`wlgeo.engine.partitions`) on a dask.distributed cluster.

:func:`dask_executor` gives an executor whose ``map`` runs each partition as a task on the
cluster's workers: a :class:`distributed.LocalCluster` it starts (``workers``,
``memory_limit`` per worker) and always shuts down, a scheduler at ``scheduler`` (the user's
cluster, left running), or a ``client`` the caller owns. Large layers (GeoParquet, PostGIS) are
read by the workers themselves, window by window; layers read in this process are sent once
to every worker.

Failures become one :class:`DaskError` line: an unreachable scheduler (names the address), a
worker that died (names the partition; usually the memory limit), workers that cannot see the
pack's files (names the file). Errors wlgeo raises inside a task (a part that fails to read,
a bad feature) come back as the same :class:`~wlgeo.model.errors.WlgeoError`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from wlgeo.model.errors import WlgeoError

__all__ = ["DaskError", "DaskExecutor", "dask_executor", "check_files_visible"]

log = logging.getLogger(__name__)


class DaskError(WlgeoError, RuntimeError):
    """The dask cluster could not run the plan (scheduler unreachable, worker died, files unseen)."""


def _missing(paths: Sequence[str]) -> list[str]:
    return [p for p in paths if not os.path.exists(p)]


class DaskExecutor:
    """Runs partitions as tasks on a dask.distributed cluster."""

    name = "dask"

    def __init__(self, client, *, address: str | None = None) -> None:
        self.client = client
        self.address = address or getattr(client.scheduler, "address", None) or "the dask scheduler"

    @property
    def workers(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1).get("workers", {}))

    def share(self, value: Any) -> Any:
        """Send ``value`` once to every worker; tasks receive it as an argument."""
        try:
            return self.client.scatter([value], broadcast=True, hash=False)[0]
        except (OSError, TimeoutError) as err:
            raise DaskError(f"cannot send data to the workers of {self.address}: {err}") from err

    def map(self, func: Callable, *iterables: Iterable) -> list:
        from concurrent.futures import CancelledError

        from distributed import KilledWorker

        columns = [list(it) for it in iterables]
        if not columns or not columns[0]:
            return []
        futures = self.client.map(func, *columns, pure=False)
        try:
            return self.client.gather(futures)
        except WlgeoError:
            raise
        except (KilledWorker, CancelledError) as err:
            raise DaskError(
                f"a dask worker of {self.address} died while running {func.__name__}; a worker is killed when it "
                "passes its memory limit — give the workers more memory (--memory-limit) or use smaller partitions "
                "(--partition-size)"
            ) from err
        except (OSError, TimeoutError) as err:
            raise DaskError(f"lost the dask scheduler {self.address} while running {func.__name__}: {err}") from err
        except Exception as err:
            if type(err).__module__.split(".")[0] in ("distributed", "dask", "tornado"):
                raise DaskError(f"the dask cluster {self.address} failed while running {func.__name__}: "
                                f"{type(err).__name__}: {err}") from err
            raise
        finally:
            for future in futures:
                future.release()


def check_files_visible(executor: DaskExecutor, files: Sequence[Path]) -> None:
    """Raise :class:`DaskError` when a worker cannot open one of ``files`` (a remote cluster
    that does not mount the pack's folder at the same path). Also makes every worker import
    wlgeo, and says so when a worker cannot."""
    paths = [str(Path(f).resolve()) for f in files]
    try:
        found = executor.client.run(_missing, paths)
    except (OSError, TimeoutError) as err:
        raise DaskError(f"cannot reach the workers of {executor.address}: {err}") from err
    for worker, missing in found.items():
        if missing:
            raise DaskError(
                f"the dask worker {worker} cannot see {missing[0]}; the workers must read the pack's files at the "
                "same path (mount the folder on every worker), or run with --workers N for a local cluster"
            )


@contextlib.contextmanager
def dask_executor(
    client=None,
    *,
    workers: int | None = None,
    memory_limit: int | str | None = None,
    scheduler: str | None = None,
    threads_per_worker: int = 1,
) -> Iterator[DaskExecutor]:
    """An executor on the user's ``client``, on the scheduler at ``scheduler``, or on a local
    cluster of ``workers`` processes (default 2) with ``memory_limit`` bytes each, shut down on exit.

    Raises
    ------
    DaskError
        The scheduler cannot be reached, or the local cluster cannot start.
    """
    try:
        import distributed
    except ImportError as err:  # pragma: no cover - depends on the install
        raise DaskError("the dask engine needs dask.distributed and dask-geopandas: pip install 'wlgeo[dask]'") from err

    with _quiet_dask():
        if client is not None:
            yield DaskExecutor(client)
            return
        yield from _own_cluster(distributed, workers=workers, memory_limit=memory_limit, scheduler=scheduler,
                                threads_per_worker=threads_per_worker)


@contextlib.contextmanager
def _quiet_dask():
    """distributed logs a worker's death and its restart at ERROR level on stderr: the CLI
    reports the failure in one line instead (the messages stay at DEBUG with -vv)."""
    loggers = [logging.getLogger(name) for name in ("distributed", "distributed.scheduler", "distributed.nanny",
                                                       "distributed.worker", "distributed.core", "distributed.client")]
    levels = [lg.level for lg in loggers]
    quiet = not log.isEnabledFor(logging.DEBUG)
    if quiet:
        for lg in loggers:
            lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _own_cluster(distributed, *, workers, memory_limit, scheduler, threads_per_worker):
    if scheduler is not None:
        if workers is not None or memory_limit is not None:
            raise DaskError("--scheduler uses the workers of an existing cluster: give either --scheduler or "
                            "--workers/--memory-limit")
        try:
            own = distributed.Client(scheduler, timeout="3s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as err:
            raise DaskError(f"cannot reach the dask scheduler at {scheduler}: {type(err).__name__}: {err}") from err
        try:
            yield DaskExecutor(own, address=scheduler)
        finally:
            with contextlib.suppress(Exception):
                own.close()
        return
    cluster = own = None
    try:
        cluster = distributed.LocalCluster(
            n_workers=workers or 2, threads_per_worker=threads_per_worker, processes=True,
            memory_limit=memory_limit if memory_limit is not None else "auto",
            dashboard_address=":0", silence_logs=logging.CRITICAL,
        )
        own = distributed.Client(cluster, set_as_default=False)
    except Exception as err:  # noqa: BLE001 - a cluster that cannot start, whatever the cause
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()
        raise DaskError(f"cannot start a local dask cluster: {type(err).__name__}: {err}") from err
    try:
        yield DaskExecutor(own, address=cluster.scheduler_address)
    finally:
        with contextlib.suppress(Exception):
            own.close()
        with contextlib.suppress(Exception):
            cluster.close()
        log.debug("local dask cluster shut down")
