"""The top-level event generator: validate, plan, sample in chunks, stream to a file, rename at the end."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from .. import __version__
from ..detector import Detector
from ..errors import ConfigError
from ..source import Exposure, Source
from .events import ChunkSampler
from .geometry import source_position_cm
from .plan import Plan, check_output_path, make_plan


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"--seed: expected a non-negative integer, got {seed!r}")
    return int(seed)


def _check_chunk(chunk_size) -> int:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int | np.integer) or chunk_size <= 0:
        raise ConfigError(f"chunk_size: expected a positive integer, got {chunk_size!r}")
    return int(chunk_size)


def draw_counts(plan: Plan, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events per selection item, per component, and the weight of each item's events.

    With an exposure: ``N_item ~ Poisson(expected)``, weight 1. With ``plan.n_events``: ``N_item = n``,
    weight ``mu_item / sum(mu) * N_total / N_item``. Each item's events are shared among its
    components (region x flavour) multinomially in proportion to their interactions.
    """
    mu = np.array([i.expected for i in plan.items])
    if plan.n_events is None:
        n_item = rng.poisson(mu)
        weights = np.ones(len(plan.items))
    else:
        n_item = np.full(len(plan.items), plan.n_events, dtype=np.int64)
        weights = mu / mu.sum() * n_item.sum() / n_item
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
    channels: list[str] | str | None = None,
    seed: int,
    output: str | Path,
    chunk_size: int = 1_000_000,
    progress: bool = True,
    o16_model: str = "kolbe",
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
        A fixed number of events per selected channel (weighted to the physical channel mix).
    channels : list of str or comma-separated str, optional
        Channel names (``nue_d_cc``, ``es_nue``, ``cevns_O``, ``nue_o16_cc@h2o``...); default: every
        channel the rate engine reports for this detector.
    seed : int
        Seed of the random numbers: the same seed (and ``chunk_size``) gives a byte-identical file.
    output : path
        ``.parquet``, ``.hepmc3`` or ``.root`` (format by suffix), in an existing folder. Written to a
        temporary file next to it and renamed at the end; nothing is left behind on failure.
    chunk_size : int
        Events sampled and written at a time (memory is flat in the total number of events).
    progress : bool
        Show a progress bar (tqdm, on stderr).
    o16_model : {"kolbe", "nakazato"}
        Model of the nu_e 16O CC total cross section.
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
    seed = _check_seed(seed)
    chunk_size = _check_chunk(chunk_size)
    fmt, _ = check_output_path(output)
    plan = make_plan(
        detector,
        source,
        exposure,
        n_events=n_events,
        channels=channels,
        o16_model=o16_model,
        radiative_corrections=radiative_corrections,
    )

    rng = np.random.Generator(np.random.PCG64(seed))
    n_item, n_comp, weights = draw_counts(plan, rng)
    sampler = ChunkSampler(plan, weights)
    run = run_record(plan, seed, chunk_size, n_item, weights)
    total = int(n_comp.sum())

    out = Path(output)
    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    writer = None
    try:
        writer = _open_writer(fmt, tmp, run, plan, seed, sampler)
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
        w, writer = writer, None
        w.close()
        os.replace(tmp, out)
    except BaseException:
        if writer is not None:
            try:
                writer.close()
            except Exception:
                pass
        tmp.unlink(missing_ok=True)
        raise

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
