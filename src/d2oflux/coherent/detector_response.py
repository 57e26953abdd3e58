"""A data set's response chain as a rate-engine :class:`~d2oflux.response.Response` for the ``csi``/``lar`` presets.

The rate engine works on MeV axes. For a CEvNS detector declared with ``[response] model = "coherent_chain"``
and ``dataset = "<data set>"`` the chain enters as a **detection efficiency per recoil-energy bin**: the
probability that a recoil of energy T is observed inside the data set's energy axis (quenching, light yield,
PE or keVee statistics and acceptance of :mod:`d2oflux.coherent.response`). The reconstructed axis stays the
nuclear-recoil energy [MeV] (nothing else is disguised as MeV); the time acceptance and the pulse-shape
selection are not applied there (use the data set itself for those).
"""

from __future__ import annotations

import numpy as np

from ..config import parse_toml, read_preset_text, validate
from ..errors import ConfigError
from ..response import Response
from .dataset import DatasetConfig
from .response import ResponseChain


def chain_response(
    dataset: str, visible_edges_MeV: np.ndarray, reco_edges_MeV: np.ndarray, energy_scale: float = 1.0
) -> Response:
    """The recoil-energy response of ``dataset``'s chain on the detector's visible and reconstructed axes.

    Parameters
    ----------
    dataset : str
        Data-set preset or TOML whose ``[response]`` and ``axes.energy`` are used (no data files are read; an
        acceptance table must be inline).
    visible_edges_MeV, reco_edges_MeV : arrays
        Nuclear-recoil energy bin edges [MeV]; each visible bin goes to the reconstructed bin holding its centre.
    energy_scale : float
        Multiplies the light yield (PE) or keVee scale of the chain (the ``energy_scale`` nuisance).
    """
    label, text = read_preset_text("datasets", dataset)
    cfg = validate(DatasetConfig, parse_toml(label, text), f"dataset '{label}'")
    if cfg.response.acceptance.model == "table" and not cfg.response.acceptance.table_x:
        raise ConfigError(f"dataset '{label}': a coherent_chain detector response needs the acceptance table inline")
    chain = ResponseChain(cfg.response).varied("energy_scale", relative=energy_scale - 1.0)
    vis = np.asarray(visible_edges_MeV, dtype=float)
    reco = np.asarray(reco_edges_MeV, dtype=float)
    efficiency = chain.matrix(vis * 1e3, cfg.axes["energy"].to_edges()).sum(axis=1)
    centres = 0.5 * (vis[1:] + vis[:-1])
    j = np.searchsorted(reco, centres, side="right") - 1
    matrix = np.zeros((vis.size - 1, reco.size - 1))
    inside = (j >= 0) & (j < reco.size - 1)
    matrix[np.nonzero(inside)[0], j[inside]] = 1.0
    return Response(vis, reco, matrix, np.clip(efficiency, 0.0, 1.0), ("nuclear_recoil",))
