"""Binned Poisson likelihood of a CEvNS data set, its fit, goodness of fit and figure.

Each data set becomes a pyhf-style workspace (one channel, the analysis bins flattened) evaluated by
:class:`d2oflux.analysis.likelihood.NumpyModel`:

* sample ``cevns``: the prediction of :func:`d2oflux.coherent.predict.predict_cevns`, times the free
  ``cevns_xsec`` (the flux-averaged CEvNS cross section relative to the Standard Model) and ``flux_norm``
  (the neutrinos per proton relative to the data set's nominal value), with ``pot`` (normsys) if declared and
  one ``histosys`` per response nuisance (the chain evaluated at +-1 sigma);
* one sample per background template with a normfactor ``<dataset>/<name>``.

Gaussian priors (``flux_norm``: the data set's ``nu_per_proton_rel_uncertainty``; backgrounds with
``prior = "gaussian"``) are added by :class:`Likelihood`, which also joins several models that share
parameters by name (see :mod:`d2oflux.coherent.joint`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from ..analysis.fitter import fit_problems
from ..analysis.likelihood import NumpyModel, poisson_deviance
from ..errors import ConfigError
from .dataset import Dataset
from .predict import predict_cevns

POI = "cevns_xsec"
FLUX = "flux_norm"


@dataclass
class DatasetModel:
    """A data set's likelihood pieces.

    Attributes
    ----------
    dataset : Dataset
    workspace : dict
        pyhf workspace (observations = the data in the kept bins).
    numpy_model : NumpyModel
    mask : bool array (shape of the axes)
        Bins kept (total expectation > 0).
    samples : dict
        Sample name -> nominal counts on the axes.
    priors : dict
        Parameter -> (mean, sigma) Gaussian priors.
    nuisance_effect : dict
        Response nuisance -> largest relative change of the CEvNS count at +-1 sigma.
    """

    dataset: Dataset
    workspace: dict
    numpy_model: NumpyModel
    mask: np.ndarray
    samples: dict[str, np.ndarray]
    priors: dict[str, tuple[float, float]]
    nuisance_effect: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.dataset.name

    def parameter(self, local: str) -> str:
        """The global name of a data-set parameter (backgrounds and response nuisances are prefixed)."""
        return f"{self.name}/{local}"


def build_dataset_model(ds: Dataset) -> DatasetModel:
    """The likelihood of one data set (see the module docstring)."""
    cfg = ds.config
    predicted = predict_cevns(ds)
    nominal = predicted if ds.cevns_template is None else ds.cevns_template

    def varied(chain) -> np.ndarray:
        out = predict_cevns(ds, chain)
        if ds.cevns_template is None:
            return out
        ratio = np.divide(out, predicted, out=np.ones_like(out), where=predicted > 0)
        return ds.cevns_template * ratio

    samples = {"cevns": nominal, **ds.backgrounds}
    total = sum(samples.values())
    mask = total > 0
    lost = float(ds.observed[~mask].sum())
    if lost > 0:
        raise ConfigError(
            f"dataset '{ds.label}': {lost:g} observed events lie in bins where nothing is expected; "
            "check the axes and the templates"
        )

    def flat(a: np.ndarray) -> list[float]:
        return [float(x) for x in a[mask]]

    mods: list[dict] = [
        {"name": POI, "type": "normfactor", "data": None},
        {"name": FLUX, "type": "normfactor", "data": None},
    ]
    if cfg.exposure.pot_rel_uncertainty > 0:
        r = cfg.exposure.pot_rel_uncertainty
        mods.append({"name": "pot", "type": "normsys", "data": {"hi": 1 + r, "lo": 1 - r}})
    effects = {}
    for n in cfg.nuisances:
        if n.relative is not None:
            up = varied(ds.chain.varied(n.acts_on, relative=n.relative))
            down = varied(ds.chain.varied(n.acts_on, relative=-n.relative))
        else:
            up = varied(ds.chain.varied(n.acts_on, coefficients=n.up))
            down = varied(ds.chain.varied(n.acts_on, coefficients=n.down))
        change = max(np.abs(up - nominal).max(), np.abs(down - nominal).max())
        if not change > 1e-9 * max(nominal.max(), 1e-300):
            raise ConfigError(
                f"dataset '{ds.label}': nuisance '{n.name}' ({n.acts_on}) has no effect on the declared response"
            )
        effects[n.name] = float(max(abs(up.sum() / nominal.sum() - 1), abs(down.sum() / nominal.sum() - 1)))
        mods.append(
            {"name": f"{cfg.name}/{n.name}", "type": "histosys", "data": {"hi_data": flat(up), "lo_data": flat(down)}}
        )
    ws_samples = [{"name": "cevns", "data": flat(nominal), "modifiers": mods}]
    priors = (
        {FLUX: (1.0, cfg.exposure.nu_per_proton_rel_uncertainty)}
        if cfg.exposure.nu_per_proton_rel_uncertainty > 0
        else {}
    )
    params = [
        {"name": POI, "bounds": [[0.0, 5.0]], "inits": [1.0]},
        {"name": FLUX, "bounds": [[0.2, 3.0]], "inits": [1.0]},
    ]
    for b in cfg.backgrounds:
        pname = f"{cfg.name}/{b.name}"
        ws_samples.append(
            {
                "name": b.name,
                "data": flat(ds.backgrounds[b.name]),
                "modifiers": [{"name": pname, "type": "normfactor", "data": None}],
            }
        )
        params.append({"name": pname, "bounds": [[0.0, 10.0]], "inits": [1.0]})
        if b.prior == "gaussian":
            priors[pname] = (1.0, b.rel_uncertainty)
    workspace = {
        "channels": [{"name": cfg.name, "samples": ws_samples}],
        "observations": [{"name": cfg.name, "data": flat(ds.observed)}],
        "measurements": [{"name": cfg.name, "config": {"poi": POI, "parameters": params}}],
        "version": "1.0.0",
    }
    return DatasetModel(ds, workspace, NumpyModel.from_workspace(workspace), mask, samples, priors, effects)


@dataclass
class Term:
    """One likelihood term: a NumpyModel with its data and the global index of each of its parameters."""

    label: str
    model: NumpyModel
    data: np.ndarray
    index: np.ndarray


class Likelihood:
    """Sum of NumpyModel terms sharing parameters by name, plus Gaussian priors.

    A constrained parameter (normsys/histosys) that appears in several terms keeps one unit-Gaussian
    constraint (the duplicates are subtracted).
    """

    def __init__(
        self, terms: list[tuple[str, NumpyModel, np.ndarray, dict[str, str]]], priors: dict[str, tuple[float, float]]
    ):
        names: list[str] = []
        lower: dict[str, float] = {}
        upper: dict[str, float] = {}
        init: dict[str, float] = {}
        constrained_count: dict[str, int] = {}
        self.terms: list[Term] = []
        for label, nm, data, rename in terms:
            global_names = [rename.get(p, p) for p in nm.parameters]
            for k, g in enumerate(global_names):
                if g not in names:
                    names.append(g)
                    lower[g], upper[g], init[g] = float(nm.lower[k]), float(nm.upper[k]), float(nm.init[k])
                if nm.constrained[k]:
                    constrained_count[g] = constrained_count.get(g, 0) + 1
            self.terms.append(
                Term(label, nm, np.asarray(data, float), np.array([names.index(g) for g in global_names]))
            )
        self.parameters = names
        self.lower = np.array([lower[n] for n in names])
        self.upper = np.array([upper[n] for n in names])
        self.init = np.array([init[n] for n in names])
        self.duplicate_constraints = np.array([max(constrained_count.get(n, 0) - 1, 0) for n in names], float)
        self.priors = {n: v for n, v in priors.items() if n in names}
        self.prior_index = np.array([names.index(n) for n in self.priors], int)
        self.prior_mean = np.array([v[0] for v in self.priors.values()])
        self.prior_sigma = np.array([v[1] for v in self.priors.values()])

    def nll(self, x: np.ndarray) -> float:
        total = 0.0
        for t in self.terms:
            total += float(t.model.nll(x[t.index][None], t.data)[0])
        total -= 0.5 * float((self.duplicate_constraints * x * x).sum())
        if self.prior_index.size:
            total += 0.5 * float((((x[self.prior_index] - self.prior_mean) / self.prior_sigma) ** 2).sum())
        return total

    def gradient(self, x: np.ndarray) -> np.ndarray:
        g = np.zeros_like(x)
        for t in self.terms:
            np.add.at(g, t.index, t.model.gradient(x[t.index][None], t.data)[0])
        g -= self.duplicate_constraints * x
        if self.prior_index.size:
            np.add.at(g, self.prior_index, (x[self.prior_index] - self.prior_mean) / self.prior_sigma**2)
        return g

    def hessian(self, x: np.ndarray) -> np.ndarray:
        H = np.zeros((x.size, x.size))
        for t in self.terms:
            _, h, _ = t.model.derivatives(x[t.index][None], t.data)
            H[np.ix_(t.index, t.index)] += h[0]
        H -= np.diag(self.duplicate_constraints)
        if self.prior_index.size:
            H[self.prior_index, self.prior_index] += 1.0 / self.prior_sigma**2
        return H

    def free_parameter_count(self) -> int:
        """Parameters with neither a constraint nor a prior (for the goodness-of-fit degrees of freedom)."""
        constrained = set(self.priors)
        for t in self.terms:
            constrained |= {self.parameters[i] for i, c in zip(t.index, t.model.constrained, strict=True) if c}
        return sum(1 for p in self.parameters if p not in constrained)


@dataclass
class FitResult:
    """Best fit of a :class:`Likelihood`: values, covariance, minimum, validity.

    ``valid`` is true only when ``problems`` is empty (:func:`d2oflux.analysis.fitter.fit_problems`: minimiser
    failure, a free parameter at a bound, a covariance that is not positive definite).
    """

    parameters: list[str]
    values: np.ndarray
    covariance: np.ndarray
    nll: float
    valid: bool
    problems: tuple[str, ...] = ()

    @property
    def errors(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.covariance), 0, None))

    def value(self, name: str) -> float:
        return float(self.values[self.parameters.index(name)])

    def error(self, name: str) -> float:
        return float(self.errors[self.parameters.index(name)])


def minimise(lik: Likelihood, fixed: dict[str, float] | None = None) -> FitResult:
    """MIGRAD with the analytic gradient; the covariance from the analytic Hessian at the minimum."""
    from iminuit import Minuit

    m = Minuit(lik.nll, lik.init.copy(), grad=lik.gradient, name=lik.parameters)
    m.errordef = Minuit.LIKELIHOOD
    m.limits = list(zip(lik.lower, lik.upper, strict=True))
    for name, v in (fixed or {}).items():
        m.values[name] = v
        m.fixed[name] = True
    m.strategy = 0  # the gradient is analytic and the covariance comes from the analytic Hessian below
    m.migrad()
    if not m.valid:
        m.strategy = 1
        m.migrad()
    x = np.array(m.values)
    H = lik.hessian(x)
    fixed_mask = np.array([m.fixed[n] for n in lik.parameters])
    H[fixed_mask, :] = 0.0
    H[:, fixed_mask] = 0.0
    H[fixed_mask, fixed_mask] = 1.0
    try:
        cov = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        cov = np.linalg.pinv(H)
    cov[fixed_mask, :] = 0.0
    cov[:, fixed_mask] = 0.0
    errors = np.sqrt(np.clip(np.diag(cov), 0, None))
    problems = fit_problems(list(lik.parameters), x, errors, cov, lik.lower, lik.upper, fixed_mask, bool(m.valid))
    return FitResult(list(lik.parameters), x, cov, float(m.fval), not problems, problems)


def sample_counts(model: DatasetModel, x_local: np.ndarray) -> dict[str, float]:
    """Expected counts of every sample summed over the analysis bins, at the model's parameters ``x_local``."""
    nm = model.numpy_model
    base, f, *_ = nm._state(np.atleast_2d(x_local), 0)
    per_sample = (f.prod(axis=2)[0][:, None] * base[0]).sum(axis=1)
    return {name.split("/", 1)[1]: float(v) for name, v in zip(nm.sample_names, per_sample, strict=True)}


def fitted_events(model: DatasetModel, lik: Likelihood, term: Term, res: FitResult) -> dict[str, dict[str, float]]:
    """Fitted counts per sample with errors propagated from the covariance (numerical gradient)."""
    x = res.values
    central = sample_counts(model, x[term.index])
    grads = {k: np.zeros(x.size) for k in central}
    for i in range(x.size):
        if i not in term.index:
            continue
        h = 1e-5 * max(1.0, abs(x[i]))
        xp = x.copy()
        xp[i] += h
        up = sample_counts(model, xp[term.index])
        for k in central:
            grads[k][i] = (up[k] - central[k]) / h
    return {
        k: {"value": central[k], "error": float(np.sqrt(max(grads[k] @ res.covariance @ grads[k], 0.0)))}
        for k in central
    }


def goodness_of_fit(lik: Likelihood, res: FitResult, n_toys: int = 2000, seed: int = 1) -> dict[str, float]:
    """Saturated-model likelihood ratio: Poisson deviance, degrees of freedom, p-values.

    ``p_value``: chi2 with ``ndf`` = bins - unconstrained parameters (asymptotic; optimistic for sparse bins).
    ``p_value_toys``: fraction of ``n_toys`` Poisson pseudo-data sets drawn from the best fit (seeded) whose
    deviance to the same best fit exceeds the observed one (no refit per toy: slightly conservative).
    """
    lam = np.concatenate([t.model.expected(res.values[t.index][None])[0] for t in lik.terms])
    n = np.concatenate([t.data for t in lik.terms])
    dev = poisson_deviance(lam, n)
    ndf = max(n.size - lik.free_parameter_count(), 1)
    rng = np.random.default_rng(seed)
    toys = rng.poisson(lam, size=(n_toys, lam.size))
    p_toys = float(np.mean(poisson_deviance(lam, toys) >= dev))
    return {
        "deviance": float(dev),
        "ndf": ndf,
        "p_value": float(stats.chi2.sf(dev, ndf)),
        "p_value_toys": p_toys,
        "n_toys": n_toys,
    }
