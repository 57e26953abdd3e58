"""Maximum-likelihood fits of a :class:`NumpyModel`: many at once (toys, Asimov scans) or one with MINOS.

:func:`fit_batch` minimises thousands of likelihoods simultaneously with Newton steps on the analytic
Hessian (Fisher scoring where the Hessian is not positive), a backtracking line search and bounds; the
uncertainties come from the inverse of the exact Hessian at the minimum (the quantity MINUIT's HESSE
estimates numerically).
:func:`fit_minuit` runs iminuit (MIGRAD, HESSE, MINOS) on one dataset. Tests check both against
``pyhf.infer.mle.fit`` with the minuit optimiser.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .likelihood import NumpyModel


@dataclass
class BatchFit:
    """Results of :func:`fit_batch`, one row per dataset.

    Attributes
    ----------
    theta, errors : arrays (T, P)
        Best-fit values and their Hessian uncertainties (0 for fixed parameters).
    covariance : array (T, P, P)
    nll : array (T,)
    converged : bool array (T,)
    """

    theta: np.ndarray
    errors: np.ndarray
    covariance: np.ndarray
    nll: np.ndarray
    converged: np.ndarray


@np.errstate(divide="ignore", invalid="ignore", over="ignore")  # degenerate toys give NaN: not converged
def fit_batch(
    model: NumpyModel,
    data: np.ndarray,
    aux: np.ndarray | None = None,
    *,
    fixed: np.ndarray | None = None,
    fixed_values: np.ndarray | None = None,
    tol: float = 1e-12,
    max_iter: int = 60,
) -> BatchFit:
    """Fit every row of ``data`` (shape (T, B) or (B,)).

    Parameters
    ----------
    model : NumpyModel
    data : array
        Observed counts per bin.
    aux : array (T, P) or (P,), optional
        Auxiliary data of the constraints (0 = nominal).
    fixed : bool array (P,) or (T, P), optional
        Parameters held at ``fixed_values`` (default: their initial values).
    tol : float
        Stop when the estimated distance to the minimum, g^T F^-1 g / 2, is below ``tol``.
    """
    data = np.atleast_2d(np.asarray(data, dtype=float))
    T, P = data.shape[0], len(model.parameters)
    aux = np.zeros((T, P)) if aux is None else np.broadcast_to(np.asarray(aux, float), (T, P))
    fixed = np.zeros((T, P), dtype=bool) if fixed is None else np.broadcast_to(np.asarray(fixed, bool), (T, P))
    start = np.broadcast_to(model.init, (T, P)).copy()
    if fixed_values is not None:
        start = np.where(fixed, np.broadcast_to(fixed_values, (T, P)), start)
    theta = start
    lo, hi = model.lower, model.upper
    nll = model.nll(theta, data, aux)
    edm = np.full(T, np.inf)
    for _ in range(max_iter):
        active = edm > tol
        if not active.any():
            break
        idx = np.nonzero(active)[0]
        th, d, a, fx = theta[idx], data[idx], aux[idx], fixed[idx]
        g, H, F = model.derivatives(th, d, a)
        g = np.where(fx, 0.0, g)
        H = _freeze(H, fx)
        F = _freeze(F, fx)
        # Newton step with the exact Hessian; Fisher scoring where that is not a descent direction
        step = _solve(H, -g)
        bad = ~np.isfinite(step).all(axis=1) | (np.einsum("tp,tp->t", g, step) >= 0)
        if bad.any():
            step[bad] = _solve(F[bad], -g[bad])
        edm[idx] = 0.5 * np.abs(np.einsum("tp,tp->t", g, step))
        scale = np.ones(idx.size)
        base_nll = nll[idx]
        for _ls in range(30):
            trial = np.clip(th + scale[:, None] * step, lo, hi)
            trial_nll = model.nll(trial, d, a)
            worse = ~(trial_nll <= base_nll + 1e-10 * np.abs(base_nll))
            if not worse.any():
                break
            scale = np.where(worse, scale * 0.5, scale)
        theta[idx] = trial
        nll[idx] = trial_nll
    converged = (edm <= tol * 10) & np.isfinite(nll) & np.isfinite(theta).all(axis=1)
    _, H, _ = model.derivatives(theta, data, aux)
    cov = np.linalg.inv(_freeze(H, fixed))
    cov = np.where(fixed[:, :, None] | fixed[:, None, :], 0.0, cov)
    errors = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0, None))
    return BatchFit(theta, errors, cov, nll, converged)


def _freeze(M: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """Replace the rows and columns of fixed parameters by the identity."""
    P = M.shape[-1]
    mask2 = fixed[:, :, None] | fixed[:, None, :]
    return np.where(mask2, np.eye(P)[None], M)


def _solve(M: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched solve; singular systems give NaN rows instead of an exception."""
    try:
        return np.linalg.solve(M, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full_like(b, np.nan)
        for i in range(b.shape[0]):
            try:
                out[i] = np.linalg.solve(M[i], b[i])
            except np.linalg.LinAlgError:
                pass
        return out


@dataclass
class MinuitFit:
    """One fit with iminuit: values, HESSE errors, MINOS interval of the POI, and the minimum.

    ``valid`` is true only when ``problems`` is empty; ``problems`` names each reason the fit is not to be
    trusted (see :func:`fit_problems`).
    """

    parameters: list[str]
    values: np.ndarray
    errors: np.ndarray
    poi_minos: tuple[float, float]
    nll: float
    valid: bool
    covariance: np.ndarray
    problems: tuple[str, ...] = ()


#: A free parameter closer to a bound than this fraction of its error (or of its range) is "at the bound".
AT_BOUND_FRACTION = 0.01


def fit_problems(
    parameters: list[str],
    values: np.ndarray,
    errors: np.ndarray,
    covariance: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    fixed: np.ndarray,
    minimizer_ok: bool = True,
    minimizer_reason: str = "",
) -> tuple[str, ...]:
    """Reasons a fit is invalid: minimiser failure, a free parameter at a bound, a covariance that is not
    positive definite or not finite. Empty when the fit is healthy.
    """
    problems = []
    if not minimizer_ok:
        problems.append(f"the minimiser did not converge ({minimizer_reason or 'invalid minimum'})")
    free = ~np.asarray(fixed, bool)
    for k in np.flatnonzero(free):
        span = upper[k] - lower[k]
        tol = AT_BOUND_FRACTION * (errors[k] if np.isfinite(errors[k]) and errors[k] > 0 else span)
        tol = min(tol, AT_BOUND_FRACTION * span) if np.isfinite(span) else tol
        for bound, side in ((lower[k], "lower"), (upper[k], "upper")):
            if np.isfinite(bound) and abs(values[k] - bound) <= tol:
                problems.append(f"{parameters[k]} = {values[k]:.4g} is at its {side} bound {bound:g}")
    block = covariance[np.ix_(free, free)]
    if not np.all(np.isfinite(block)):
        problems.append("the covariance matrix is not finite")
    elif block.size and np.linalg.eigvalsh(0.5 * (block + block.T)).min() <= 0:
        problems.append("the covariance matrix is not positive definite")
    return tuple(problems)


def fit_minuit(
    model: NumpyModel,
    data: np.ndarray,
    aux: np.ndarray | None = None,
    *,
    fixed: dict[str, float] | None = None,
    minos: bool = True,
) -> MinuitFit:
    """Fit one dataset with iminuit (MIGRAD, HESSE, and MINOS on the parameter of interest)."""
    from iminuit import Minuit

    data = np.asarray(data, dtype=float)
    aux_arr = np.zeros(len(model.parameters)) if aux is None else np.asarray(aux, float)

    def fcn(x):
        return float(model.nll(x[None], data, aux_arr)[0])

    def grad(x):
        return model.gradient(x[None], data, aux_arr)[0]

    m = Minuit(fcn, model.init.copy(), grad=grad, name=model.parameters)
    m.errordef = Minuit.LIKELIHOOD
    m.limits = list(zip(model.lower, model.upper, strict=True))
    for name, value in (fixed or {}).items():
        m.values[name] = value
        m.fixed[name] = True
    m.strategy = 1
    m.tol = 1e-4
    m.migrad()
    m.hesse()
    poi = model.parameters[0]
    interval = None
    if minos and m.valid:
        try:
            m.minos(poi)
            me = m.merrors[poi]
            interval = (float(-me.lower), float(me.upper))
        except RuntimeError:
            pass
    # HESSE from the analytic Hessian at MINUIT's minimum (MINUIT's numerical second derivatives through
    # its bound transformation are ~1e-2 off for parameters that sit at their prior)
    values = np.array(m.values)
    fixed_mask = np.array([m.fixed[name] for name in model.parameters])
    _, H, _ = model.derivatives(values[None], data, aux_arr)
    try:
        cov = np.linalg.inv(_freeze(H, fixed_mask[None]))[0]
    except np.linalg.LinAlgError:
        cov = np.full((len(values), len(values)), np.nan)
    cov[fixed_mask, :] = 0.0
    cov[:, fixed_mask] = 0.0
    errors = np.sqrt(np.clip(np.nan_to_num(np.diag(cov), nan=0.0), 0, None))
    if interval is None:  # no MINOS: symmetric HESSE interval
        interval = (float(errors[0]), float(errors[0]))
    fmin = m.fmin
    reason = ", ".join(
        text
        for flag, text in (
            (fmin.is_above_max_edm, "EDM above tolerance"),
            (fmin.has_reached_call_limit, "call limit reached"),
            (not fmin.has_valid_parameters, "invalid parameters"),
        )
        if flag
    )
    problems = fit_problems(
        list(model.parameters), values, errors, cov, model.lower, model.upper, fixed_mask, bool(m.valid), reason
    )
    return MinuitFit(
        list(model.parameters),
        values,
        errors,
        interval,
        float(m.fval),
        not problems,
        cov,
        problems,
    )
