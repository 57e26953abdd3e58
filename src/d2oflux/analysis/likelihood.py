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
    """Arrays describing a pyhf workspace (one measurement), grouped by parameter for fast evaluation.

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
    normfactors : dict
        Parameter index -> indices of the samples it multiplies.
    normsys : dict
        Parameter index -> (sample indices, ln hi, ln lo, code-4 coefficients (n, 6)).
    histosys : dict
        Parameter index -> (sample indices, up - nom (n, B), nom - down (n, B)).
    channel_slices : dict
        Bin range of each channel.
    observed : array (B,)
        The workspace's observations.
    """

    parameters: list[str]
    init: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    constrained: np.ndarray
    sample_names: list[str]
    nominal: np.ndarray
    normfactors: dict[int, np.ndarray]
    normsys: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    histosys: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]
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
            for smp in ch["samples"]:
                samples.append((ch["name"], smp["name"], smp))
                for m in smp["modifiers"]:
                    if m["type"] not in SUPPORTED:
                        raise ValueError(f"modifier type '{m['type']}' ({m['name']}) is not supported")
                    if kinds.setdefault(m["name"], m["type"]) != m["type"]:
                        raise ValueError(f"modifier '{m['name']}' has two types")
        names = [poi, *sorted(k for k in kinds if k != poi)]
        constrained = np.array([kinds[n] in ("normsys", "histosys") for n in names])
        init = np.where(constrained, 0.0, 1.0)
        lower = np.where(constrained, -5.0, 0.0)
        upper = np.where(constrained, 5.0, 10.0)
        for par in config.get("parameters", []):
            if par["name"] in names:
                i = names.index(par["name"])
                if "inits" in par:
                    init[i] = par["inits"][0]
                if "bounds" in par:
                    lower[i], upper[i] = par["bounds"][0]
        nominal = np.zeros((len(samples), n_bins))
        nf: dict[int, list[int]] = {}
        ns: dict[int, list[tuple[int, float, float]]] = {}
        hs: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = {}
        sample_names = []
        for si, (ch, sname, smp) in enumerate(samples):
            sl = offsets[ch]
            nom = np.asarray(smp["data"], dtype=float)
            nominal[si, sl] = nom
            sample_names.append(f"{ch}/{sname}")
            for m in smp["modifiers"]:
                pi = names.index(m["name"])
                if m["type"] == "normfactor":
                    nf.setdefault(pi, []).append(si)
                elif m["type"] == "normsys":
                    ns.setdefault(pi, []).append((si, np.log(m["data"]["hi"]), np.log(m["data"]["lo"])))
                else:
                    up = np.zeros(n_bins)
                    down = np.zeros(n_bins)
                    up[sl] = np.asarray(m["data"]["hi_data"], float) - nom
                    down[sl] = nom - np.asarray(m["data"]["lo_data"], float)
                    hs.setdefault(pi, []).append((si, up, down))
        normfactors = {p: np.array(v) for p, v in nf.items()}
        normsys = {}
        for p, entries in ns.items():
            idx = np.array([e[0] for e in entries])
            lh = np.array([e[1] for e in entries])
            ll = np.array([e[2] for e in entries])
            normsys[p] = (idx, lh, ll, _code4_coefficients(lh, ll))
        histosys = {
            p: (np.array([e[0] for e in v]), np.array([e[1] for e in v]), np.array([e[2] for e in v]))
            for p, v in hs.items()
        }
        observed = np.zeros(n_bins)
        for obs in spec["observations"]:
            observed[offsets[obs["name"]]] = obs["data"]
        return cls(
            names,
            init,
            lower,
            upper,
            constrained,
            sample_names,
            nominal,
            normfactors,
            normsys,
            histosys,
            offsets,
            observed,
        )

    # ------------------------------------------------------------------------------------------
    def _state(self, theta: np.ndarray, order: int):
        """Pieces of the model at ``theta`` (T, P), with derivatives up to ``order``.

        Returns base (T, S, B) after histosys shifts, the multiplicative factors f (T, S, P) of every
        (sample, parameter) pair (1 where the parameter does not act multiplicatively), and for order >= 1
        their first and second derivatives, plus the histosys coefficient derivatives.
        """
        T, P = theta.shape
        S = self.nominal.shape[0]
        base = np.broadcast_to(self.nominal, (T, *self.nominal.shape)).copy()
        hist_coef = {}
        for p, (idx, up, down) in self.histosys.items():
            cu, cd, dcu, dcd, ddcu, ddcd = _code4p_coefficients(theta[:, p])
            base[:, idx, :] += cu[:, None, None] * up[None] + cd[:, None, None] * down[None]
            hist_coef[p] = (dcu, dcd, ddcu, ddcd)
        f = np.ones((T, S, P))
        d = np.zeros((T, S, P)) if order else None
        dd = np.zeros((T, S, P)) if order else None
        for p, idx in self.normfactors.items():
            f[:, idx, p] = theta[:, p : p + 1]
            if order:
                d[:, idx, p] = 1.0
        for p, (idx, lh, ll, coef) in self.normsys.items():
            v, dv, ddv = _code4(theta[:, p : p + 1], lh, ll, coef)
            f[:, idx, p] = v
            if order:
                d[:, idx, p] = dv
                dd[:, idx, p] = ddv
        return base, f, d, dd, hist_coef

    def expected(self, theta: np.ndarray) -> np.ndarray:
        """Expected counts per bin, shape (T, B) for parameters of shape (T, P)."""
        theta = np.atleast_2d(theta)
        base, f, *_ = self._state(theta, 0)
        return np.einsum("ts,tsb->tb", f.prod(axis=2), base)

    def nll(self, theta: np.ndarray, data: np.ndarray, aux: np.ndarray | None = None) -> np.ndarray:
        """Negative log likelihood (constant terms dropped), shape (T,)."""
        theta = np.atleast_2d(theta)
        lam = self.expected(theta)
        data = np.broadcast_to(data, lam.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            term = lam - np.where(data > 0, data * np.log(lam), 0.0)
        aux = np.zeros_like(theta) if aux is None else np.broadcast_to(aux, theta.shape)
        return term.sum(axis=1) + 0.5 * (((theta - aux) ** 2) * self.constrained).sum(axis=1)

    def derivatives(self, theta: np.ndarray, data: np.ndarray, aux: np.ndarray | None = None, *, hessian: bool = True):
        """Gradient (T, P), exact Hessian (T, P, P) and Fisher information (T, P, P) of :meth:`nll`.

        The Hessian is analytic: ``sum_b [n_b/lam_b^2 J J^T + (1 - n_b/lam_b) d2 lam_b]`` plus the constraints;
        the Fisher information replaces the data by the expectation in the first term and drops the second.
        """
        theta = np.atleast_2d(theta)
        _T, P = theta.shape
        base, f, d, dd, hist_coef = self._state(theta, 1)
        F = f.prod(axis=2)  # (T, S)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(f != 0, d / f, 0.0)  # d ln f
            h = np.where(f != 0, dd / f, 0.0)
        lam_s = base * F[:, :, None]
        lam = lam_s.sum(axis=1)
        data = np.broadcast_to(data, lam.shape)
        J = np.einsum("tsb,tsp->tpb", lam_s, g)
        for p, (idx, up, down) in self.histosys.items():
            dcu, dcd, _, _ = hist_coef[p]
            Fi = F[:, idx]
            J[:, p] += dcu[:, None] * (Fi @ up) + dcd[:, None] * (Fi @ down)
        W = 1.0 - data / lam
        aux = np.zeros_like(theta) if aux is None else np.broadcast_to(aux, theta.shape)
        constraint = self.constrained.astype(float)
        grad = np.einsum("tb,tpb->tp", W, J) + (theta - aux) * constraint
        fisher = np.einsum("tpb,tqb->tpq", J / lam[:, None, :], J) + np.diag(constraint)
        if not hessian:
            return grad, None, fisher
        H = np.einsum("tpb,tqb->tpq", J * (data / lam**2)[:, None, :], J) + np.diag(constraint)
        A = np.einsum("tb,tsb->ts", W, base) * F  # (T, S)
        second = np.einsum("ts,tsp,tsq->tpq", A, g, g)
        diag = np.einsum("ts,tsp->tp", A, h - g * g)
        second[:, np.arange(P), np.arange(P)] += diag
        for p, (idx, up, down) in self.histosys.items():
            dcu, dcd, ddcu, ddcd = hist_coef[p]
            Wu = W @ up.T  # (T, n)
            Wd = W @ down.T
            Dh = (dcu[:, None] * Wu + dcd[:, None] * Wd) * F[:, idx]  # (T, n)
            cross = np.einsum("tn,tnq->tq", Dh, g[:, idx, :])
            second[:, p, :] += cross
            second[:, :, p] += cross
            second[:, p, p] += ((ddcu[:, None] * Wu + ddcd[:, None] * Wd) * F[:, idx]).sum(axis=1)
        return grad, H + second, fisher

    def gradient(self, theta, data, aux=None) -> np.ndarray:
        """Gradient of :meth:`nll`, shape (T, P)."""
        return self.derivatives(theta, data, aux, hessian=False)[0]

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


def poisson_deviance(lam: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Poisson deviance to the saturated model, ``2 sum (lam - n + n ln(n / lam))`` over the last axis."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 2.0 * np.sum(lam - n + np.where(n > 0, n * np.log(n / lam), 0.0), axis=-1)


def _code4_coefficients(log_hi: np.ndarray, log_lo: np.ndarray) -> np.ndarray:
    """Polynomial coefficients (..., 6) of normsys code 4 for the given ln(hi), ln(lo)."""
    hi, lo = np.exp(log_hi), np.exp(log_lo)
    b = np.stack([hi - 1, lo - 1, log_hi * hi, -log_lo * lo, log_hi**2 * hi, log_lo**2 * lo], axis=-1)
    return b @ _CODE4_AINV.T


def _code4(a, log_hi, log_lo, coef):
    """Normsys code-4 factor and its first and second derivatives; ``a`` (T, 1), the rest (n,) or (n, 6)."""
    powers = np.stack([a**k for k in range(7)], axis=-1)  # (T, 1, 7): a^0 .. a^6
    k = np.arange(1, 7)
    inner = 1.0 + (coef * powers[..., 1:]).sum(axis=-1)
    dinner = (coef * k * powers[..., :6]).sum(axis=-1)
    ddinner = (coef[..., 1:] * (k[1:] * (k[1:] - 1)) * powers[..., :5]).sum(axis=-1)
    up = np.exp(a * log_hi)
    down = np.exp(-a * log_lo)
    above, below = a >= 1, a <= -1
    f = np.where(above, up, np.where(below, down, inner))
    df = np.where(above, log_hi * up, np.where(below, -log_lo * down, dinner))
    ddf = np.where(above, log_hi**2 * up, np.where(below, log_lo**2 * down, ddinner))
    return f, df, ddf


def _code4p_coefficients(a: np.ndarray):
    """Histosys code-4p as ``shift = cu * (up - nom) + cd * (nom - down)``: cu, cd and their derivatives.

    Inside |a| <= 1: ``a S + P(a) A`` with S = (u + d)/2, A = (u - d)/16, P = 15a^2 - 10a^4 + 3a^6, so
    cu = a/2 + P/16 and cd = a/2 - P/16; outside, a times the up (a > 1) or down (a < -1) difference.
    """
    a2 = a * a
    P = a2 * (15.0 + a2 * (3.0 * a2 - 10.0))
    dP = 30.0 * a - 40.0 * a2 * a + 18.0 * a2 * a2 * a
    ddP = 30.0 - 120.0 * a2 + 90.0 * a2 * a2
    above, below = a > 1, a < -1
    zero = np.zeros_like(a)
    cu = np.where(above, a, np.where(below, zero, 0.5 * a + P / 16))
    cd = np.where(above, zero, np.where(below, a, 0.5 * a - P / 16))
    dcu = np.where(above, 1.0, np.where(below, 0.0, 0.5 + dP / 16))
    dcd = np.where(above, 0.0, np.where(below, 1.0, 0.5 - dP / 16))
    ddcu = np.where(above | below, 0.0, ddP / 16)
    return cu, cd, dcu, dcd, ddcu, -ddcu
