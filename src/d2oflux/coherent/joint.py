"""Joint fits: several CEvNS data sets, and optionally the D2O flux measurement, sharing one flux.

Parameters are shared by name, declared once:

* ``flux_norm``: neutrinos per proton per flavour relative to each data set's nominal value (assumption: one
  common scale factor for all running periods; the proton-energy dependence of the yield is in the nominal
  values). Without a D2O term it carries a Gaussian prior (the data sets' ``nu_per_proton_rel_uncertainty``,
  10 % today); with a D2O term the D2O data measure it and the prior is dropped;
* ``pot``: the beam's proton-on-target accounting (shared by every term that declares it);
* ``xsec_nue_o16_cc`` and ``o16_model``: the nu_e 16O cross section, common to a D2O and a light-water module.

Everything else is per data set (``<dataset>/<name>``) or per D2O detector (``d2o/<name>``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .dataset import load_dataset
from .fit import (
    FLUX,
    POI,
    DatasetModel,
    FitResult,
    Likelihood,
    build_dataset_model,
    fitted_events,
    goodness_of_fit,
    minimise,
)

SHARED = (FLUX, "pot", "xsec_nue_o16_cc", "o16_model")


def _dataset_rename(model: DatasetModel, n_datasets: int) -> dict[str, str]:
    """Several data sets each keep their own CEvNS cross section (``<dataset>/cevns_xsec``)."""
    return {POI: model.parameter(POI)} if n_datasets > 1 else {}


def build_likelihood(
    models: list[DatasetModel], d2o=None, d2o_data: np.ndarray | None = None, *, flux_prior: bool | None = None
) -> Likelihood:
    """The joint likelihood of data-set models and, optionally, a D2O :class:`~d2oflux.analysis.model.FluxModel`.

    ``flux_prior`` defaults to True without a D2O term and False with one.
    """
    terms = []
    priors: dict[str, tuple[float, float]] = {}
    for m in models:
        terms.append((m.name, m.numpy_model, m.numpy_model.observed, _dataset_rename(m, len(models))))
        priors.update(m.priors)
    if d2o is not None:
        nm = d2o.numpy_model()
        rename = {p: p if p in SHARED else f"d2o/{p}" for p in nm.parameters}
        terms.append(("d2o", nm, nm.observed if d2o_data is None else d2o_data, rename))
    use_prior = (d2o is None) if flux_prior is None else flux_prior
    if not use_prior:
        priors.pop(FLUX, None)
    elif models:
        rels = {m.dataset.config.exposure.nu_per_proton_rel_uncertainty for m in models}
        priors[FLUX] = (1.0, min(rels))
    return Likelihood(terms, priors)


def fit_models(models: list[DatasetModel], d2o=None, d2o_data=None, *, flux_prior: bool | None = None):
    """Fit; return (likelihood, result)."""
    lik = build_likelihood(models, d2o, d2o_data, flux_prior=flux_prior)
    return lik, minimise(lik)


def summarise(models: list[DatasetModel], lik: Likelihood, res: FitResult) -> dict:
    """The JSON-ready result: parameters, fitted and predicted events per group, goodness of fit, published."""
    single = len(models) == 1
    fitted: dict[str, dict[str, float]] = {}
    predicted: dict[str, float] = {}
    cevns_sum, cevns_var, cevns_pred = 0.0, 0.0, 0.0
    published = {}
    for m in models:
        term = next(t for t in lik.terms if t.label == m.name)
        ev = fitted_events(m, lik, term, res)
        for group, v in ev.items():
            fitted[group if single else f"{m.name}/{group}"] = v
            predicted[group if single else f"{m.name}/{group}"] = float(m.samples[group].sum())
        cevns_sum += ev["cevns"]["value"]
        cevns_var += ev["cevns"]["error"] ** 2
        cevns_pred += float(m.samples["cevns"].sum())
        published[m.name] = dict(m.dataset.config.published)
    if not single:
        fitted["cevns"] = {"value": cevns_sum, "error": float(np.sqrt(cevns_var))}
        predicted["cevns"] = cevns_pred
    return {
        "dataset": "+".join(m.name for m in models) + ("+d2o" if any(t.label == "d2o" for t in lik.terms) else ""),
        "parameters": {
            p: {"value": float(v), "error": float(e)}
            for p, v, e in zip(res.parameters, res.values, res.errors, strict=True)
        },
        "fitted_events": fitted,
        "predicted_events": predicted,
        "goodness_of_fit": goodness_of_fit(lik, res),
        "valid": res.valid,
        "problems": list(res.problems),
        "published": published,
    }


def fit_datasets(
    names: list[str | Path],
    data_dir: str | Path | None = None,
    plot: str | Path | None = None,
    d2o=None,
    d2o_data: np.ndarray | None = None,
) -> dict:
    """Load, fit (jointly if several, with a D2O flux model if given), optionally plot; return the result dict."""
    if not names:
        raise ConfigError("give at least one --dataset")
    if plot is not None:
        from .plots import check_plot_path

        check_plot_path(Path(plot))  # before the fit: a bad name costs nothing
    models = [build_dataset_model(load_dataset(n, data_dir)) for n in names]
    if len({m.name for m in models}) != len(models):
        raise ConfigError("the same data set is given twice")
    lik, res = fit_models(models, d2o, d2o_data)
    out = summarise(models, lik, res)
    if plot is not None:
        from .plots import plot_fit

        plot_fit(models, lik, res, Path(plot))
        out["plot"] = str(plot)
    return out


def fit_table(result: dict) -> str:
    """A readable summary of :func:`fit_datasets`."""
    lines = [f"data set {result['dataset']}"]
    lines.append(f"{'group':<34}{'predicted':>11}{'fitted':>11}{'+-':>8}")
    for g, v in result["fitted_events"].items():
        lines.append(f"{g:<34}{result['predicted_events'][g]:>11.1f}{v['value']:>11.1f}{v['error']:>8.1f}")
    lines.append("parameters (normalisations relative to nominal; response nuisances in sigma):")
    for p, v in result["parameters"].items():
        lines.append(f"  {p:<40}{v['value']:>9.4f} +- {v['error']:.4f}")
    for name, pub in result["published"].items():
        if "cevns_fitted" in pub:
            key = "cevns" if len(result["published"]) == 1 else f"{name}/cevns"
            fit = result["fitted_events"][key]
            lines.append(
                f"published {name}: CEvNS fitted {pub['cevns_fitted']:g} +- {pub.get('cevns_fitted_error', 0):g}, "
                f"here {fit['value']:.1f} +- {fit['error']:.1f}; "
                f"predicted {pub.get('cevns_predicted', float('nan')):g}, here {result['predicted_events'][key]:.1f}"
            )
    q = result["goodness_of_fit"]
    lines.append(
        f"goodness of fit (saturated model): deviance {q['deviance']:.1f} for {q['ndf']} degrees of freedom, "
        f"p = {q['p_value']:.3f} (chi2), {q['p_value_toys']:.3f} ({q['n_toys']} toys)"
    )
    if not result["valid"]:
        lines.append("FIT INVALID: " + "; ".join(result["problems"]))
    if "plot" in result:
        lines.append(f"figure: {result['plot']}")
    return "\n".join(lines)
