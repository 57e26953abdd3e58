"""Energy-scale and resolution variations of a tabulated response (a smearing matrix read from a file).

The analytic response takes the scale and the constant term as parameters; a table does not. So that the
``energy_scale`` and ``energy_resolution`` nuisances act on a table response instead of silently doing nothing,
the reconstructed axis of the table is transformed:

* energy scale s: a reconstructed energy E becomes s E, i.e. each row's cumulative distribution C(x) becomes
  C(x / s) (flat inside each reconstructed bin);
* resolution: raising the constant term from c0 to c1 (sigma_E/E = sqrt(1/(Y E) + c^2), as the analytic
  response) adds a Gaussian of width sqrt(c1^2 - c0^2) E in quadrature (each row convolved with it, E at the
  bin centres); lowering it mirrors the corresponding widening, 2 M - M(+width), clipped at 0 and rescaled to
  the original row sums (a table cannot be de-smeared exactly; this is the usual symmetrisation).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from .response import Response


def stretch_reco(resp: Response, scale: float) -> Response:
    """The response with every reconstructed energy multiplied by ``scale``."""
    edges = resp.reco_edges_MeV
    cum = np.concatenate([np.zeros((resp.matrix.shape[0], 1)), np.cumsum(resp.matrix, axis=1)], axis=1)
    moved = np.array([np.interp(edges / scale, edges, row) for row in cum])
    return Response(
        resp.visible_edges_MeV, edges, np.clip(np.diff(moved, axis=1), 0, None), resp.efficiency, resp.visible_particles
    )


def smear_reco(resp: Response, extra_constant: float) -> Response:
    """The response widened (``extra_constant`` > 0) or narrowed (< 0) by a Gaussian of relative width
    ``|extra_constant|`` added in quadrature (see module)."""
    if extra_constant == 0:
        return resp
    edges = resp.reco_edges_MeV
    centres = 0.5 * (edges[1:] + edges[:-1])
    sigma = np.maximum(abs(extra_constant) * np.abs(centres), 1e-12)
    kernel = np.diff(ndtr((edges[None, :] - centres[:, None]) / sigma[:, None]), axis=1)
    wider = resp.matrix @ kernel
    if extra_constant > 0:
        matrix = wider
    else:
        matrix = np.clip(2 * resp.matrix - wider, 0, None)
        sums, new = resp.matrix.sum(axis=1, keepdims=True), matrix.sum(axis=1, keepdims=True)
        matrix = np.divide(matrix * sums, new, out=np.zeros_like(matrix), where=new > 0)
    return Response(resp.visible_edges_MeV, edges, matrix, resp.efficiency, resp.visible_particles)


def vary_table(
    resp: Response, nominal_scale: float, scale: float, nominal_constant: float, constant: float
) -> Response:
    """Apply the scale and constant-term changes requested relative to the configuration's nominal values."""
    if scale != nominal_scale:
        resp = stretch_reco(resp, scale / nominal_scale)
    if constant != nominal_constant:  # the quadrature difference of the constant terms, with its sign
        resp = smear_reco(resp, np.sign(constant - nominal_constant) * np.sqrt(abs(constant**2 - nominal_constant**2)))
    return resp
