"""A vectorised numpy evaluation of a pyhf workspace: expected counts, NLL, gradient, Hessian.

It implements exactly the pieces of the pyhf model that d2oflux workspaces use, with the interpolation
codes a ``pyhf.Model`` uses by default (pyhf 0.7 ``pdf.py``: normsys code 4, histosys code 4p; the
formulae are those of pyhf's ``interpolators/code4.py`` and ``code4p.py``):

* ``normfactor``: multiply by the parameter;
* ``normsys`` (code 4): factor ``hi**a`` for ``a >= 1``, ``lo**(-a)`` for ``a <= -1``, and in between the
  sixth-order polynomial ``1 + sum_i c_i a^i`` that matches value, first and second derivative at +-1;
* ``histosys`` (code 4p): add ``a (up - nom)`` for ``a > 1``, ``a (nom - down)`` for ``a < -1``, and in between
  ``a S + (15 a^2 - 10 a^4 + 3 a^6) A`` with ``S = (d_up + d_down)/2``, ``A = (d_up - d_down)/16``;
* a unit Gaussian constraint on every normsys/histosys parameter, centred on its auxiliary datum.

The negative log likelihood, up to terms that do not depend on the parameters, is

    NLL = sum_b [lambda_b - n_b ln lambda_b] + sum_k (a_k - aux_k)^2 / 2.

Everything is vectorised over a leading "toy" axis so thousands of pseudo-experiments are evaluated at
once. :mod:`pyhf` itself stays the reference: tests compare fits with ``pyhf.infer.mle.fit``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SUPPORTED = ("normfactor", "normsys", "histosys")


@dataclass
class NumpyModel:
    """Arrays describing a pyhf workspace (one measurement).

    Attributes
    ----------
    parameters : list of str
        Parameter names; the parameter of interest first.
    init, lower, upper : arrays (P,)
        Initial values and bounds.
    constrained : bool array (P,)
        Whether the parameter has a unit Gaussian constraint (normsys, histosys).
    nominal : array (S, B)
        Nominal counts of every sample over the concatenated bins of all channels.
    channel_slices : dict
        Bin range of each channel.
    """

    parameters: list[str]
    init: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    constrained: np.ndarray
    sample_names: list[str]
    nominal: np.ndarray
    normfactor: np.ndarray  # (S, P) bool
    log_hi: np.ndarray  # (S, P) ln(hi), 0 where no normsys
    log_lo: np.ndarray  # (S, P) ln(lo)
    poly: np.ndarray  # (S, P, 6) code-4 polynomial coefficients c_1..c_6
    histosys: list[tuple[int, int, np.ndarray, np.ndarray]]  # (sample, param, up - nom, nom - down)
    channel_slices: dict[str, slice]
    observed: np.ndarray

    @property
    def poi_index(self) -> int:
        return 0

    @property
    def n_bins(self) -> int:
        return self.nominal.shape[1]

    def index(self, name: str) -> int:
        return self.parameters.index(name)

    @classmethod
    def from_workspace(cls, spec: dict, measurement: int = 0) -> NumpyModel:
        """Build from a pyhf workspace dictionary."""
        config = spec["measurements"][measurement]["config"]
        poi = config["poi"]
        channels = spec["channels"]
        offsets: dict[str, slice] = {}
        start = 0
        for ch in channels:
            n = len(ch["samples"][0]["data"])
            offsets[ch["name"]] = slice(start, start + n)
            start += n
        n_bins = start
        kinds: dict[str, str] = {}
        samples: list[tuple[str, str, dict]] = []
        for ch in channels:
            for s in ch["samples"]:
                samples.append((ch["name"], s["name"], s))
                for m in s["modifiers"]:
                    if m["type"] not in SUPPORTED:
                        raise ValueError(f"modifier type '{m['type']}' ({m['name']}) is not supported")
                    if kinds.setdefault(m["name"], m["type"]) != m["type"]:
                        raise ValueError(f"modifier '{m['name']}' has two types")
        names = [poi, *sorted(k for k in kinds if k != poi)]
        P, S = len(names), len(samples)
        constrained = np.array([kinds[n] in ("normsys", "histosys") for n in names])
        init = np.where(constrained, 0.0, 1.0)
        lower = np.where(constrained, -5.0, 0.0)
        upper = np.where(constrained, 5.0, 10.0)
        for p in config.get("parameters", []):
            if p["name"] in names:
                i = names.index(p["name"])
                if "inits" in p:
                    init[i] = p["inits"][0]
                if "bounds" in p:
                    lower[i], upper[i] = p["bounds"][0]
        nominal = np.zeros((S, n_bins))
        normfactor = np.zeros((S, P), dtype=bool)
        log_hi = np.zeros((S, P))
        log_lo = np.zeros((S, P))
        histosys = []
        sample_names = []
        for si, (ch, sname, s) in enumerate(samples):
            sl = offsets[ch]
            nom = np.asarray(s["data"], dtype=float)
            nominal[si, sl] = nom
            sample_names.append(f"{ch}/{sname}")
            for m in s["modifiers"]:
                pi = names.index(m["name"])
                if m["type"] == "normfactor":
                    normfactor[si, pi] = True
                elif m["type"] == "normsys":
                    log_hi[si, pi] = np.log(m["data"]["hi"])
                    log_lo[si, pi] = np.log(m["data"]["lo"])
                else:
                    up = np.zeros(n_bins)
                    down = np.zeros(n_bins)
                    up[sl] = np.asarray(m["data"]["hi_data"], float) - nom
                    down[sl] = nom - np.asarray(m["data"]["lo_data"], float)
                    histosys.append((si, pi, up, down))
        observed = np.zeros(n_bins)
        for obs in spec["observations"]:
            observed[offsets[obs["name"]]] = obs["data"]
        poly = _code4_coefficients(log_hi, log_lo)
        return cls(
            names,
            init,
            lower,
            upper,
            constrained,
            sample_names,
            nominal,
            normfactor,
            log_hi,
            log_lo,
            poly,
            histosys,
            offsets,
            observed,
        )

    # ------------------------------------------------------------------------------------------
    def expected(self, theta: np.ndarray) -> np.ndarray:
        """Expected counts per bin, shape (T, B) for parameters of shape (T, P)."""
        base, factor = self._pieces(np.atleast_2d(theta))
        return np.einsum("ts,tsb->tb", factor, base)

    def _pieces(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        base, normsys, _, nfvals = self._parts(theta)
        return base, normsys.prod(axis=2) * nfvals.prod(axis=2)

    def _parts(self, theta: np.ndarray):
        """Histosys-shifted counts (T, S, B), normsys factors and their derivatives (T, S, P), normfactors."""
        base = np.broadcast_to(self.nominal, (theta.shape[0], *self.nominal.shape)).copy()
        for si, pi, up, down in self.histosys:
            a = theta[:, pi : pi + 1]
            base[:, si, :] += _code4p(a, up, down)[0]
        a = np.broadcast_to(theta[:, None, :], (theta.shape[0], *self.log_hi.shape))
        f, df = _code4(a, self.log_hi, self.log_lo, self.poly)
        nfvals = np.where(self.normfactor[None], theta[:, None, :], 1.0)
        return base, f, df, nfvals

    def jacobian(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expected counts (T, B) and their derivatives with respect to the parameters (T, P, B)."""
        theta = np.atleast_2d(theta)
        base, f, df, nfvals = self._parts(theta)
        fprod = f.prod(axis=2)
        factor = fprod * nfvals.prod(axis=2)
        lam_s = base * factor[:, :, None]  # (T, S, B)
        lam = lam_s.sum(axis=1)
        T, P = theta.shape
        J = np.zeros((T, P, self.n_bins))
        has_normsys = (self.log_hi != 0) | (self.log_lo != 0)
        for p in range(P):
            if self.normfactor[:, p].any():
                others = nfvals.copy()
                others[:, :, p] = 1.0
                coef = fprod * others.prod(axis=2) * self.normfactor[:, p]
                J[:, p] += np.einsum("ts,tsb->tb", coef, base)
            if has_normsys[:, p].any():
                J[:, p] += np.einsum("ts,tsb->tb", df[:, :, p] / f[:, :, p], lam_s)
        for si, pi, up, down in self.histosys:
            a = theta[:, pi : pi + 1]
            J[:, pi] += factor[:, si : si + 1] * _code4p(a, up, down)[1]
        return lam, J

    def nll(self, theta: np.ndarray, data: np.ndarray, aux: np.ndarray | None = None) -> np.ndarray:
        """Negative log likelihood (constant terms dropped), shape (T,)."""
        theta = np.atleast_2d(theta)
        lam = self.expected(theta)
        data = np.broadcast_to(data, lam.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            term = lam - np.where(data > 0, data * np.log(lam), 0.0)
        aux = np.zeros_like(theta) if aux is None else np.broadcast_to(aux, theta.shape)
        return term.sum(axis=1) + 0.5 * (((theta - aux) ** 2) * self.constrained).sum(axis=1)

    def gradient(self, theta, data, aux=None) -> np.ndarray:
        """Gradient of :meth:`nll`, shape (T, P)."""
        theta = np.atleast_2d(theta)
        lam, J = self.jacobian(theta)
        data = np.broadcast_to(data, lam.shape)
        aux = np.zeros_like(theta) if aux is None else np.broadcast_to(aux, theta.shape)
        w = 1.0 - data / lam
        return np.einsum("tb,tpb->tp", w, J) + (theta - aux) * self.constrained

    def asimov(self, theta: np.ndarray | None = None) -> np.ndarray:
        """Expected data at ``theta`` (default: initial values), shape (B,)."""
        return self.expected(self.init if theta is None else theta)[0]


# pyhf interpolators/code4.py: inverse of the 6x6 matching matrix at alpha0 = 1
_CODE4_AINV = np.array(
    [
        [15 / 16, -15 / 16, -7 / 16, -7 / 16, 1 / 16, -1 / 16],
        [3 / 2, 3 / 2, -9 / 16, 9 / 16, 1 / 16, 1 / 16],
        [-5 / 8, 5 / 8, 5 / 8, 5 / 8, -1 / 8, 1 / 8],
        [-3 / 2, -3 / 2, 7 / 8, -7 / 8, -1 / 8, -1 / 8],
        [3 / 16, -3 / 16, -3 / 16, -3 / 16, 1 / 16, -1 / 16],
        [1 / 2, 1 / 2, -5 / 16, 5 / 16, 1 / 16, 1 / 16],
    ]
)


def _code4_coefficients(log_hi: np.ndarray, log_lo: np.ndarray) -> np.ndarray:
    """Polynomial coefficients (..., 6) of normsys code 4 for the given ln(hi), ln(lo)."""
    hi, lo = np.exp(log_hi), np.exp(log_lo)
    b = np.stack([hi - 1, lo - 1, log_hi * hi, -log_lo * lo, log_hi**2 * hi, log_lo**2 * lo], axis=-1)
    return b @ _CODE4_AINV.T


def _code4(a, log_hi, log_lo, poly):
    """Normsys code-4 factor and its derivative for parameters ``a`` (broadcast with the other arrays)."""
    powers = np.stack([a**k for k in range(1, 7)], axis=-1)
    dpowers = np.stack([k * a ** (k - 1) for k in range(1, 7)], axis=-1)
    inner = 1.0 + (poly * powers).sum(axis=-1)
    dinner = (poly * dpowers).sum(axis=-1)
    up = np.exp(a * log_hi)
    down = np.exp(-a * log_lo)
    f = np.where(a >= 1, up, np.where(a <= -1, down, inner))
    df = np.where(a >= 1, log_hi * up, np.where(a <= -1, -log_lo * down, dinner))
    return f, df


def _code4p(a, up, down):
    """Histosys code-4p shift and its derivative; ``up`` = hi - nom, ``down`` = nom - lo."""
    S = 0.5 * (up + down)
    A = 0.0625 * (up - down)
    a2 = a * a
    inner = a * S + a2 * (15.0 + a2 * (3.0 * a2 - 10.0)) * A
    dinner = S + (30.0 * a - 40.0 * a2 * a + 18.0 * a2 * a2 * a) * A
    shift = np.where(a > 1, a * up, np.where(a < -1, a * down, inner))
    dshift = np.where(a > 1, up, np.where(a < -1, down, dinner))
    return shift, dshift
