"""Run a scan: check every point, skip the completed ones, evaluate the rest in batches, store each batch.

Executors
---------
``workers = 0``
    In this process, one batch after the other (tests, debugging, tiny scans).
``workers = N`` (default: the number of cores)
    A :class:`dask.distributed.LocalCluster` of N single-threaded worker processes.
``scheduler = "tcp://host:port"``
    An existing Dask cluster (e.g. started with dask-jobqueue on Slurm or PBS); the client writes the store.

Each batch is one task; its rows are written as one chunk as soon as it completes. Killing the client loses
at most the batches in flight; a worker that dies has its tasks rerun by Dask elsewhere. Every point's numbers
depend only on its configuration and the specification's seed, never on the batching or the worker count.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from .evaluate import evaluate_batch
from .space import ScanBase, configure, count_points, iter_points, make_base
from .spec import ScanSpec
from .store import ScanStore

#: Refuse scans with more points than this unless confirmed (``--max-points``, ``--yes``).
DEFAULT_MAX_POINTS = 10**6
#: Seconds to wait for an external scheduler before giving up.
SCHEDULER_TIMEOUT_S = 3


@dataclass
class ScanSummary:
    """What a run did (``d2oflux scan --json`` prints this)."""

    store: str
    spec: str
    spec_hash: str
    points: int
    excluded_by_constraints: int
    excluded_by: dict[str, int]
    already_done: int
    computed: int
    rows_in_store: int
    workers: int | str
    seconds: float
    dashboard: str | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def plan(spec: ScanSpec, max_points: int = DEFAULT_MAX_POINTS, confirmed: bool = False, progress: bool = False):
    """Validate every point and apply the constraints (before anything runs).

    Returns the base, the feasible configured points and the count of excluded ones per constraint.
    """
    n = count_points(spec)
    if n > max_points and not confirmed:
        raise ConfigError(
            f"scan '{spec.label}' has {n} points, more than --max-points {max_points}; "
            "raise --max-points or confirm with --yes"
        )
    base = make_base(spec)
    feasible, excluded = [], {}
    points = iter_points(spec)
    if progress and n > 2000:
        from tqdm import tqdm

        points = tqdm(points, total=n, desc="checking points", unit="point", file=sys.stderr)
    for point in points:
        c = configure(base, point)
        if c.violations:
            for v in c.violations:
                excluded[v] = excluded.get(v, 0) + 1
        else:
            feasible.append(c)
    return base, feasible, n - len(feasible), excluded


def run_scan(
    spec: ScanSpec,
    store_path: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    confirmed: bool = False,
    batch_size: int | None = None,
    progress: bool = False,
) -> ScanSummary:
    """Run (or resume) ``spec`` into the store at ``store_path``; see the module docstring."""
    start = time.perf_counter()
    if workers is not None and workers < 0:
        raise ConfigError(f"--workers: expected 0 (in this process) or a positive number, got {workers}")
    if workers is not None and scheduler is not None:
        raise ConfigError("give only one of --workers and --scheduler")
    base, feasible, n_excluded, excluded_by = plan(spec, max_points, confirmed, progress)
    if scheduler is not None:
        connect(scheduler).close()  # a wrong address fails here, before the store is created
    store = ScanStore.create_or_resume(store_path, spec, base_detector_json(base))
    done = store.completed_hashes()
    todo = [c.point for c in feasible if c.config_hash not in done]
    n_workers: int | str = (os.cpu_count() or 1) if workers is None else workers
    if scheduler is not None:
        n_workers = scheduler
    dashboard = None
    if todo:
        if n_workers == 0:
            _run_serial(base, todo, store, batch_size or 8, progress)
        else:
            dashboard = _run_dask(base, todo, store, n_workers, batch_size, progress)
    rows = sum(_count_rows(f) for f in store.chunk_files())
    return ScanSummary(
        store=str(store.path),
        spec=spec.label,
        spec_hash=spec.spec_hash,
        points=count_points(spec),
        excluded_by_constraints=n_excluded,
        excluded_by=excluded_by,
        already_done=len(feasible) - len(todo),
        computed=len(todo),
        rows_in_store=rows,
        workers=n_workers,
        seconds=time.perf_counter() - start,
        dashboard=dashboard,
    )


def base_detector_json(base: ScanBase) -> dict:
    """The base detector configuration as JSON data (what a store remembers next to the specification)."""
    from ..detector import DetectorConfig

    return DetectorConfig.model_validate(base.detector_data).model_dump(mode="json")


def _batches(points: list, size: int) -> list[list]:
    return [points[i : i + size] for i in range(0, len(points), size)]


def _bar(total: int, progress: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="scan", unit="point", file=sys.stderr, disable=not progress, smoothing=0.05)


def _run_serial(base: ScanBase, todo: list, store: ScanStore, batch_size: int, progress: bool) -> None:
    with _bar(len(todo), progress) as bar:
        for batch in _batches(todo, batch_size):
            store.write_chunk(evaluate_batch(base, batch))
            bar.update(len(batch))


def _run_dask(
    base: ScanBase, todo: list, store: ScanStore, workers: int | str, batch_size: int | None, progress: bool
) -> str | None:
    """Submit one task per batch to a LocalCluster or an external scheduler; write chunks as they complete."""
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if isinstance(workers, str):
        client = connect(workers)
        n = max(len(client.scheduler_info().get("workers", {})), 1)
    else:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: several scans may run side by side
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
        n = workers
    dashboard = client.dashboard_link if _has_bokeh() else None
    if dashboard and progress:
        print(f"d2oflux: Dask dashboard at {dashboard}", file=sys.stderr)
    size = batch_size or max(1, min(32, math.ceil(len(todo) / (8 * n))))
    try:
        base_future = client.scatter(base, broadcast=True)
        futures = [client.submit(evaluate_batch, base_future, b, pure=False) for b in _batches(todo, size)]
        sizes = {f.key: len(b) for f, b in zip(futures, _batches(todo, size), strict=True)}
        with _bar(len(todo), progress) as bar:
            for future in as_completed(futures):
                store.write_chunk(future.result())
                bar.update(sizes[future.key])
                future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return dashboard


def connect(address: str):
    """A client of the scheduler at ``address``, or a one-line error after a short timeout."""
    from distributed import Client

    if "://" not in address:
        raise ConfigError(f"--scheduler: expected an address such as tcp://host:8786, got {address!r}")
    try:
        return Client(address, timeout=SCHEDULER_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(
            f"--scheduler {address}: cannot reach the Dask scheduler within {SCHEDULER_TIMEOUT_S} s ({reason[:160]})"
        ) from None


def _has_bokeh() -> bool:
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return False
    return True


def _count_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows
