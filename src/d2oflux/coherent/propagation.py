"""What the D2O flux measurement does to the CEvNS cross-section uncertainty of COHERENT's data sets.

For each data set, the flux-averaged CEvNS cross section relative to the Standard Model (``cevns_xsec``) is
fitted to the real public data

* with today's flux knowledge: ``flux_norm`` with its Gaussian prior (10 %);
* jointly with a D2O module's Asimov data set after 1, 2 and 5 SNS-years (no flux prior: the D2O data
  measure ``flux_norm``; ``pot`` is shared);
* with the flux known exactly (``flux_norm`` fixed): the floor set by the CEvNS data themselves.

:func:`propagation_rows` returns the table, :func:`propagation_table` prints it and
:func:`propagation_figure` draws it (for the report).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..analysis.model import build_model
from ..beam import Exposure, load_facility
from ..detector import load_detector
from ..source import Source
from .dataset import load_dataset
from .fit import FLUX, POI, build_dataset_model, minimise
from .joint import build_likelihood

DEFAULT_DATASETS = ("coherent-csi-2021", "coherent-lar-2020")


@dataclass
class PropagationRow:
    """The relative uncertainty of the fitted CEvNS cross section of one data set under one flux constraint.

    Attributes
    ----------
    dataset : str
    flux_constraint : str
        ``"today (10 % prior)"``, ``"D2O <y> SNS-years"`` or ``"flux known exactly"``.
    years : float or None
        D2O exposure [SNS-years] (None for the other two).
    flux_uncertainty : float
        Relative uncertainty of ``flux_norm`` in that fit.
    cevns_xsec : float
        Fitted cross section relative to the Standard Model.
    cevns_xsec_uncertainty : float
        Its absolute (= relative to the SM) uncertainty.
    """

    dataset: str
    flux_constraint: str
    years: float | None
    flux_uncertainty: float
    cevns_xsec: float
    cevns_xsec_uncertainty: float

    def to_dict(self) -> dict:
        return asdict(self)


def propagation_rows(
    datasets: tuple[str, ...] | list[str] = DEFAULT_DATASETS,
    years: tuple[float, ...] | list[float] = (1.0, 2.0, 5.0),
    d2o_detector: str = "d2o-module1",
    data_dir: str | Path | None = None,
    progress: bool = False,
) -> list[PropagationRow]:
    """Fit every data set with today's flux prior, with the D2O-constrained flux after ``years``, and exactly known.

    The D2O likelihood is :func:`d2oflux.analysis.model.build_model` for ``d2o_detector`` at the facility
    of the detector file, fitted to its own Asimov data (expected sensitivity).
    """
    from tqdm import tqdm

    det = load_detector(d2o_detector)
    fac = load_facility(det.config.facility)
    source = Source(fac, include_mu_minus_dar=True)
    d2o_models = {y: build_model(det, source, Exposure.from_years(fac, y)) for y in years}
    rows: list[PropagationRow] = []
    work = [(d, y) for d in datasets for y in (None, *years, "exact")]
    models = {d: build_dataset_model(load_dataset(d, data_dir)) for d in datasets}
    for d, y in tqdm(work, desc="CEvNS propagation fits", disable=not progress):
        m = models[d]
        if y is None:
            lik = build_likelihood([m])
            res = minimise(lik)
            label = f"today ({100 * m.dataset.config.exposure.nu_per_proton_rel_uncertainty:g} % prior)"
            years_value = None
        elif y == "exact":
            lik = build_likelihood([m], flux_prior=False)
            res = minimise(lik, fixed={FLUX: 1.0})
            label, years_value = "flux known exactly", None
        else:
            lik = build_likelihood([m], d2o_models[y])
            res = minimise(lik)
            label, years_value = f"D2O {y:g} SNS-years", float(y)
        rows.append(
            PropagationRow(
                dataset=d,
                flux_constraint=label,
                years=years_value,
                flux_uncertainty=res.error(FLUX),
                cevns_xsec=res.value(POI),
                cevns_xsec_uncertainty=res.error(POI),
            )
        )
    return rows


def propagation_table(rows: list[PropagationRow]) -> str:
    """A readable table of :func:`propagation_rows`."""
    lines = [
        "CEvNS cross section (relative to the SM) fitted to the public data, by flux constraint",
        f"{'data set':<20}{'flux constraint':<24}{'flux +-':>9}{'sigma/SM':>10}{'+-':>8}",
    ]
    for r in rows:
        lines.append(
            f"{r.dataset:<20}{r.flux_constraint:<24}{100 * r.flux_uncertainty:>8.2f}%"
            f"{r.cevns_xsec:>10.3f}{r.cevns_xsec_uncertainty:>8.3f}"
        )
    return "\n".join(lines)


def propagation_figure(rows: list[PropagationRow], path: str | Path) -> Path:
    """Bar chart of the CEvNS cross-section uncertainty per data set and flux constraint (PNG or PDF)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(r.dataset for r in rows))
    labels = list(dict.fromkeys(r.flux_constraint for r in rows))
    fig, ax = plt.subplots(figsize=(7.0, 3.8))
    width = 0.8 / len(labels)
    for k, lab in enumerate(labels):
        vals = [
            next((100 * r.cevns_xsec_uncertainty for r in rows if r.dataset == d and r.flux_constraint == lab), np.nan)
            for d in datasets
        ]
        ax.bar(np.arange(len(datasets)) + (k - (len(labels) - 1) / 2) * width, vals, width, label=lab)
    ax.set_xticks(np.arange(len(datasets)), datasets)
    ax.set_ylabel("CEvNS cross-section uncertainty [%]")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp{out.suffix}")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(out)
    return out
