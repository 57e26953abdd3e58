"""The top-level event generator: validate, plan, sample in chunks, stream to a file, rename at the end."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .. import __version__
from ..detector import Detector
from ..errors import ConfigError, check_seed
from ..outputs import atomic_file, check_free_space
from ..source import Exposure, Source
from .events import ChunkSampler
from .geometry import source_position_cm
from .plan import BYTES_PER_EVENT, Plan, check_output_path, make_plan
from .writers import written_by_d2oflux


def _check_chunk(chunk_size) -> int:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int | np.integer) or chunk_size <= 0:
        raise ConfigError(f"chunk_size: expected a positive integer, got {chunk_size!r}")
    return int(chunk_size)


def apportion(n_total: int, mu: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Split ``n_total`` events over items in proportion to ``mu``, at least one each.

    Largest-remainder (Hamilton) rounding of the quotas ``n_total * mu / sum(mu)``, ties broken in a
    random order drawn from ``rng``; an item left at zero takes one event from the largest item.
    Requires ``n_total >= len(mu)``.
    """
    mu = np.asarray(mu, dtype=float)
    quota = n_total * mu / mu.sum()
    n = np.floor(quota).astype(np.int64)
    order = np.lexsort((rng.random(mu.size), -(quota - n)))  # largest fraction first, random among ties
    n[order[: n_total - int(n.sum())]] += 1
    for k in np.flatnonzero(n == 0):
        n[np.argmax(n)] -= 1
        n[k] = 1
    return n


def draw_counts(plan: Plan, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events per selection item, per component, and the weight of each item's events.

    With an exposure: ``N_item ~ Poisson(expected)``, weight 1. With ``plan.n_events``: ``N_item`` from
    :func:`apportion` of the total (or ``n_events`` each with ``plan.per_channel``), weight
    ``mu_item / N_item`` with ``mu_item`` the expected interactions per SNS-year (events per SNS-year
    per event). Each item's events are shared among its components (region x flavour)
    multinomially in proportion to their interactions.
    """
    mu = np.array([i.expected for i in plan.items])
    if plan.n_events is None:
        n_item = rng.poisson(mu)
        weights = np.ones(len(plan.items))
    else:
        if plan.per_channel:
            n_item = np.full(len(plan.items), plan.n_events, dtype=np.int64)
        else:
            n_item = apportion(plan.n_events, mu, rng)
        weights = mu / n_item
    n_comp = np.zeros(len(plan.components), dtype=np.int64)
    for k, _item in enumerate(plan.items):
        idx = [j for j, c in enumerate(plan.components) if c.item == k]
        p = np.array([plan.components[j].interactions for j in idx])
        n_comp[idx] = rng.multinomial(int(n_item[k]), p / p.sum())
    return n_item, n_comp, weights


def run_record(plan: Plan, seed: int, chunk_size: int, n_item: np.ndarray, weights: np.ndarray) -> dict:
    """The provenance stored in every output file (JSON-able, deterministic)."""
    det = plan.detector
    exp = plan.exposure
    fac = plan.source.facility
    return {
        "generator": "d2oflux.generate",
        "version": __version__,
        "seed": seed,
        "rng": "numpy PCG64",
        "chunk_size": chunk_size,
        "mode": "exposure" if plan.n_events is None else "count",
        "per_channel": plan.per_channel,
        "weight_unit": "events" if plan.n_events is None else "events per SNS-year",
        "detector": det.name,
        "detector_label": det.label,
        "distance_m": det.distance_m,
        "source_position_cm": source_position_cm(det).tolist(),
        "facility": fac.name,
        "mu_minus_dar": plan.source.include_mu_minus_dar,
        "flux_file": None if plan.source.flux_table is None else str(plan.source.flux_table.path),
        "o16_model": plan.o16_model,
        "exposure": None
        if exp is None
        else {"pot": exp.pot, "years": exp.years, "neutrinos_per_flavour": exp.neutrinos_per_flavour},
        "fluence_per_cm2": plan.fluence_per_cm2 if exp is not None else None,
        "flux_averaged_xs_cm2_per_detector": plan.flux_averaged_xs_cm2(),
        "channels": list(dict.fromkeys(i.channel for i in plan.items)),
        "regions": plan.regions,
        "process_ids": {i.channel: i.model.process_id for i in plan.items},
        "selection": [
            {
                "label": it.label,
                "channel": it.channel,
                "expected": it.expected if exp is not None else None,
                "expected_per_sns_year": it.expected if exp is None else it.expected / exp.years,
                "events": int(n_item[k]),
                "weight": float(weights[k]),
            }
            for k, it in enumerate(plan.items)
        ],
        "units": {"energy": "MeV", "length": "cm", "time": "ns (since the proton pulse)"},
    }


def _open_writer(fmt: str, path: Path, run: dict, plan: Plan, seed: int, sampler: ChunkSampler):
    from . import writers

    if fmt == "parquet":
        return writers.ParquetEventWriter(path, run, sampler.channel_names, plan.regions)
    if fmt == "root":
        return writers.RootEventWriter(path, run, sampler.channel_names, plan.regions)
    from .nuhepmc import run_attributes, tools, xs_per_detector_function

    return writers.HepMC3EventWriter(
        path, run, run_attributes(plan, seed, run), tools(), xs_per_detector_function(plan)
    )


def generate(
    detector: Detector,
    source: Source,
    exposure: Exposure | None,
    *,
    n_events: int | None = None,
    per_channel: bool = False,
    channels: list[str] | str | None = None,
    seed: int,
    output: str | Path,
    chunk_size: int = 1_000_000,
    progress: bool = True,
    o16_model: str = "kolbe",
    allow_large: bool = False,
    radiative_corrections: bool = True,
) -> dict:
    """Generate neutrino interactions with full final states and write them to ``output``.

    Parameters
    ----------
    detector, source : Detector, Source
        Geometry and materials; the facility and its flavours (and timing).
    exposure : Exposure or None
        With an exposure (and ``n_events=None``) each channel gets ``Poisson(expected interactions)``
        events. It may be None when ``n_events`` is given.
    n_events : int, optional
        A fixed total number of events, split over the selected channels in proportion to their expected
        rates; each event weighs its channel's expected interactions per SNS-year / its event count.
    per_channel : bool
        ``n_events`` is the number per selected channel (same weights).
    channels : list of str or comma-separated str, optional
        Channel names (``nue_d_cc``, ``es_nue``, ``cevns_O``, ``nue_o16_cc@h2o``...); default: every
        channel the rate engine reports for this detector.
    seed : int
        Seed of the random numbers: the same seed (and ``chunk_size``) gives a byte-identical file (ROOT:
        the same content; its records carry the write time).
    output : path
        ``.parquet``, ``.hepmc3`` or ``.root`` (format by suffix), in an existing writable folder; an
        existing file is replaced only if d2oflux wrote it. Written through
        :func:`d2oflux.outputs.atomic_file`: whole or not at all, nothing left behind on failure.
    chunk_size : int
        Events sampled and written at a time (memory is flat in the total number of events).
    progress : bool
        Show a progress bar (tqdm, on stderr).
    o16_model : {"kolbe", "nakazato"}
        Model of the nu_e 16O CC total cross section.
    allow_large : bool
        Lift the limit of :data:`d2oflux.generate.plan.MAX_EVENTS` events.
    radiative_corrections : bool
        KRV radiative correction on nu-d CC (default on).

    Returns
    -------
    dict
        ``{"file", "format", "seed", "total", "events": {channel: n}, "expected": {channel: mu or None},
        "weights": {channel: w}}`` (channel labels as selected).

    Raises
    ------
    ConfigError
        On any bad input, before any file is created.
    """
    seed = check_seed(seed)
    chunk_size = _check_chunk(chunk_size)
    fmt, _ = check_output_path(output)
    plan = make_plan(
        detector,
        source,
        exposure,
        n_events=n_events,
        channels=channels,
        o16_model=o16_model,
        per_channel=per_channel,
        allow_large=allow_large,
        fmt=fmt,
        radiative_corrections=radiative_corrections,
    )
    out = Path(output)
    check_free_space(out.parent, plan.total_events() * BYTES_PER_EVENT[fmt])

    rng = np.random.Generator(np.random.PCG64(seed))
    n_item, n_comp, weights = draw_counts(plan, rng)
    sampler = ChunkSampler(plan, weights)
    run = run_record(plan, seed, chunk_size, n_item, weights)
    total = int(n_comp.sum())

    with atomic_file(out, "--output", is_ours=lambda p: written_by_d2oflux(p, fmt)) as tmp:
        writer = _open_writer(fmt, tmp, run, plan, seed, sampler)
        try:
            remaining = n_comp.copy()
            done = 0
            with _progress(total, progress) as bar:
                while done < total:
                    n = min(chunk_size, total - done)
                    if np.count_nonzero(remaining) == 1:
                        counts = np.where(remaining > 0, n, 0)
                    else:
                        counts = rng.multivariate_hypergeometric(remaining, n)
                    remaining -= counts
                    writer.write(sampler.chunk(counts, done, rng))
                    done += n
                    bar.update(n)
        except BaseException:
            try:
                writer.close()
            except Exception:
                pass
            raise
        writer.close()

    labels = [i.label for i in plan.items]
    return {
        "file": str(out),
        "format": fmt,
        "seed": seed,
        "total": total,
        "events": {lab: int(n) for lab, n in zip(labels, n_item, strict=True)},
        "expected": {
            lab: (i.expected if plan.exposure is not None else None) for lab, i in zip(labels, plan.items, strict=True)
        },
        "weights": {lab: float(w) for lab, w in zip(labels, weights, strict=True)},
    }


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        pass


def _progress(total: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="ev", unit_scale=True, file=sys.stderr, desc="generate", leave=False)
