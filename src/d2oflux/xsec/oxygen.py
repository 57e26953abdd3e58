"""Neutrino reactions on 16O: nu_e CC, anti-nu_e CC and NC (the beam-related backgrounds in D2O/H2O).

nu_e 16O -> e- X (``nue_o16_cc``)
----------------------------------
Two models, chosen with ``model=``:

* ``"kolbe"`` (default): Kolbe, Langanke & Vogel, Phys. Rev. D 66, 013007 (2002), as tabulated by
  SNOwGLoBES in ``xs_nue_O16.dat`` (read at run time from the PyPI package ``snowglobes-data``).
* ``"nakazato"``: the four-group fit of Nakazato et al. (arXiv:1809.08398, eq. (4) and Table 4) to the
  shell-model calculation of Suzuki et al. (arXiv:1807.02367):
  ``log10(sigma_g / cm^2) = a + b d + c d^2``, ``d = log10(E^(1/4) - E_g^(1/4))`` (E in MeV) with
  (E_g, a, b, c) = (15.21, -40.008, 4.918, 1.036), (22.47, -39.305, 4.343, 0.961),
  (25.51, -39.655, 5.263, 1.236), (29.35, -39.166, 3.947, 0.901) (docs/physics.md §3; same numbers
  in sntools' o16e.py). The fit diverges just above each E_g, so a group is used only from
  E_g + 0.3 MeV (docs/physics.md §3.2: stable to 2 MeV). Valid up to 100 MeV (range of the fit as used by
  sntools).

The two models differ by ~50 % at 30 MeV and ~14 % at 50 MeV (docs/physics.md §3.2; this module gives
Nakazato/Kolbe = 1.52 at 30 MeV, 1.26 at 40 MeV, 1.14 at 50 MeV). Folded with the piDAR nu_e (Michel)
spectrum the Nakazato total is 22 % above Kolbe (:func:`michel_averaged_ratio`), so the default
relative uncertainty is 0.25, that flux-averaged model difference rounded up (an assumption; use the
two models as a two-point systematic for anything finer).

Visible energy (documented approximation): the electron takes ``E_e = E - E_g`` (total energy) for
each group g (Nakazato et al.; sntools uses the same convention), i.e. kinetic
``T = E - E_g - m_e`` -- one line per group. With ``E_g1 = 15.21 MeV`` this puts the lowest line at
``T = E - 15.72 MeV``, consistent with the physical threshold 15.42 MeV (16F ground state). For the
Kolbe model, which has no group decomposition, the total is split among the groups with the Nakazato
group fractions at the same energy (approximation: the two models' excitation spectra are assumed
alike). The real spectrum is a continuum of 16F states; four lines is what the fit provides.

Electron angle (for the event generator): Tomas et al., arXiv:hep-ph/0307050, eq. (B7):
``dN/dcos(theta) ∝ 1 - cos(theta) (1 + x) / (3 + x)``, ``x = ((E - 15 MeV) / 25 MeV)^4``.

anti-nu_e 16O -> e+ X (``nuebar_o16_cc``)
------------------------------------------
Kolbe et al. 2002 via SNOwGLoBES ``xs_nuebar_O16.dat`` (only relevant for the mu- DAR contamination).
Visible positron: a single line ``T = E - E_th - E_x`` with ``E_th = M(16N) - M(16O) + 2 m_e =
11.443 MeV`` (atomic mass excesses 5.6839 and -4.7370 MeV, AME2020, Chin. Phys. C 45, 030003 (2021))
and ``E_x`` an **assumption** (default 0: the low-lying 16N multiplet, <0.4 MeV, dominates at low
energy; higher states are neglected). Relative uncertainty 0.5 (assumption: the largest nu_e model difference).

NC nu 16O -> nu X (``nc_o16``)
-------------------------------
Kolbe et al. via SNOwGLoBES ``xs_nc_{nue,numu,nutau,nuebar,numubar,nutaubar}_O16.dat`` (one per
flavour; in snowglobes-data 1.3 the six files hold identical numbers, a flavour-averaged table).
Most NC excitations of 16O lie above the particle thresholds and decay by p or n emission;
the visible signal is the de-excitation gamma of 15N* or 15O*, 5-10 MeV (Langanke, Vogel & Kolbe,
PRL 76, 2629 (1996), arXiv:nucl-th/9511032). Simple labelled model: a gamma is emitted with
probability ``gamma_probability`` (**assumption**, default 0.5: one 5-10 MeV photon per two NC
excitations, the order of magnitude of the photon yields Langanke, Vogel & Kolbe compute for the
(nu, nu' p gamma) and (nu, nu' n gamma) channels; their branching table was not available to us, so the
number is not theirs. Reason it may stay an assumption: both lines lie below the default 10 MeV analysis
window, so the flux fit does not depend on it; it is listed in :mod:`d2oflux.assumptions`) as one of
two lines, 6.32 MeV (15N, 3/2-; after proton emission) and 6.18 MeV
(15O, 3/2-; after neutron emission), weighted 0.86 : 0.14 by the (nu, nu' p) : (nu, nu' n) ratio of
Suzuki et al. 2018 at 30 MeV (0.776 : 0.129 x 1e-42 cm^2, as tabulated in sntools' o16nc_p.py).
Relative uncertainty of the total: 0.25 (assumption, "tens of %" in docs/physics.md §3.2); that of the gamma
yield is larger and sits in ``gamma_probability``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from d2oflux.constants import M_E_MEV, M_MU_MEV
from d2oflux.spectra import michel_pdf
from d2oflux.xsec.base import CrossSection, delta_spectrum
from d2oflux.xsec.channel import SUPPORTED_FLAVOURS, Channel, register_channel
from d2oflux.xsec.tables import TableBackedCrossSection, load_snowglobes

#: Nakazato et al. 2018 (arXiv:1809.08398) Table 4: (E_g [MeV], a, b, c) per excitation group.
NAKAZATO_GROUPS: tuple[tuple[float, float, float, float], ...] = (
    (15.21, -40.008, 4.918, 1.036),
    (22.47, -39.305, 4.343, 0.961),
    (25.51, -39.655, 5.263, 1.236),
    (29.35, -39.166, 3.947, 0.901),
)
#: Each group is used only from E_g + 0.3 MeV (docs/physics.md §3).
NAKAZATO_ONSET_MEV = 0.3
#: Upper end of the Nakazato fit as used here (sntools o16e.py bounds) [MeV].
NAKAZATO_E_MAX_MEV = 100.0

KOLBE_CITATION = (
    "E. Kolbe, K. Langanke, P. Vogel, Phys. Rev. D 66, 013007 (2002), as tabulated in SNOwGLoBES "
    "(PyPI snowglobes-data, xscns/{file})"
)
NAKAZATO_CITATION = (
    "K. Nakazato, T. Suzuki, M. Sakuda, PTEP 2018, 123E02, arXiv:1809.08398 (fit to T. Suzuki, S. Chiba, "
    "T. Yoshida, K. Takahashi, H. Umeda, arXiv:1807.02367)"
)

#: Default relative uncertainty of nu_e 16O CC (assumption: the Michel-averaged Nakazato/Kolbe
#: difference, 22 %, rounded up; the difference is ~50 % at 30 MeV, ~14 % at 50 MeV, docs/physics.md §3.2).
REL_UNCERTAINTY_O16_CC = 0.25
#: Default relative uncertainty of anti-nu_e 16O CC (assumption: the largest nu_e model difference).
REL_UNCERTAINTY_O16_CCBAR = 0.5
#: Default relative uncertainty of the 16O NC cross section (assumption; "tens of %", docs/physics.md §3.2).
REL_UNCERTAINTY_O16_NC = 0.25

#: anti-nu_e 16O -> e+ 16N threshold: atomic mass excesses (AME2020) 16N 5.6839 MeV, 16O -4.7370 MeV,
#: plus 2 m_e (positron created, one atomic electron fewer).
E_TH_NUEBAR_O16_MEV = 5.6839 - (-4.7370) + 2 * M_E_MEV

#: NC gamma lines [(E_gamma MeV, relative weight)]: 15N 3/2- at 6.324 MeV and 15O 3/2- at 6.176 MeV
#: (ENSDF level energies), weighted by Suzuki et al. 2018 (nu,nu'p):(nu,nu'n) at 30 MeV = 0.776:0.129.
NC_O16_GAMMA_LINES: tuple[tuple[float, float], ...] = ((6.324, 0.776 / 0.905), (6.176, 0.129 / 0.905))
#: Assumption: probability that an NC 16O interaction yields one of the gammas above (order of magnitude).
DEFAULT_NC_O16_GAMMA_PROBABILITY = 0.5

_SNOWGLOBES_TAG = {
    "nu_e": "nue",
    "nu_mu": "numu",
    "nu_tau": "nutau",
    "anti_nu_e": "nuebar",
    "anti_nu_mu": "numubar",
    "anti_nu_tau": "nutaubar",
}


def nakazato_group_sigma(E_MeV: ArrayLike) -> np.ndarray:
    """Partial cross sections of the four Nakazato groups [cm^2], shape ``E.shape + (4,)``.

    Each group is zero below ``E_g + 0.3 MeV``.
    """
    E = np.asarray(E_MeV, dtype=float)
    out = np.zeros((*E.shape, len(NAKAZATO_GROUPS)))
    for g, (Eg, a, b, c) in enumerate(NAKAZATO_GROUPS):
        ok = E > Eg + NAKAZATO_ONSET_MEV
        if np.any(ok):
            d = np.log10(E[ok] ** 0.25 - Eg**0.25)
            out[..., g][ok] = 10.0 ** (a + b * d + c * d * d)
    return out


def o16_cc_cos_theta_pdf(cos_theta: ArrayLike, E_MeV: ArrayLike) -> np.ndarray:
    """Electron angular distribution of nu_e 16O CC, normalised on [-1, 1] (Tomas et al.
    hep-ph/0307050 eq. (B7)): ``(1 - cos(theta) (1 + x) / (3 + x)) / 2``, ``x = ((E - 15)/25)^4``."""
    c = np.asarray(cos_theta, dtype=float)
    E = np.asarray(E_MeV, dtype=float)
    x = ((E - 15.0) / 25.0) ** 4
    out = 0.5 * (1.0 - c * (1.0 + x) / (3.0 + x))
    return np.where(np.abs(c) <= 1.0, out, 0.0)


#: The nu_e 16O CC models (:class:`NueO16CC`): Kolbe et al. 2002 (table) and the Nakazato et al. 2018 fit.
O16_MODELS: tuple[str, ...] = ("kolbe", "nakazato")


class NueO16CC(CrossSection):
    """nu_e 16O -> e- X (``nue_o16_cc``).

    Parameters
    ----------
    model : {"kolbe", "nakazato"}
        Total cross section (module docstring). Default ``"kolbe"``.
    rel_uncertainty : float
        Default 0.25 (assumption; the Michel-averaged model difference).
    snowglobes_file : str
        File for the Kolbe model (name in snowglobes_data or a path), default ``xs_nue_O16.dat``.
    """

    name = "nue_o16_cc"
    flavour = "nu_e"
    target = "o16"
    visible_particle = "electron"

    def __init__(
        self,
        model: str = "kolbe",
        *,
        rel_uncertainty: float = REL_UNCERTAINTY_O16_CC,
        snowglobes_file: str = "xs_nue_O16.dat",
    ) -> None:
        if model not in O16_MODELS:
            raise ValueError(f"model must be one of {', '.join(O16_MODELS)}, got {model!r}")
        self.model = model
        self.rel_uncertainty = float(rel_uncertainty)
        self.group_energies_MeV = np.array([g[0] for g in NAKAZATO_GROUPS])
        if model == "kolbe":
            self._table = load_snowglobes(
                snowglobes_file,
                "nu_e",
                name=self.name,
                target=self.target,
                rel_uncertainty=rel_uncertainty,
                citation=KOLBE_CITATION.format(file=snowglobes_file),
            )
            self.threshold_MeV = self._table.threshold_MeV
            self.E_max_MeV = self._table.E_max_MeV
            self.citation = self._table.citation
        else:
            self._table = None
            self.threshold_MeV = NAKAZATO_GROUPS[0][0] + NAKAZATO_ONSET_MEV
            self.E_max_MeV = NAKAZATO_E_MAX_MEV
            self.citation = NAKAZATO_CITATION

    @property
    def range_label(self) -> str:
        return self._table.range_label if self._table is not None else f"{self.name} (nakazato)"

    def _sigma(self, E: np.ndarray) -> np.ndarray:
        if self._table is not None:
            return self._table.sigma(E)
        return nakazato_group_sigma(E).sum(axis=-1)

    def group_fractions(self, E_MeV: ArrayLike) -> np.ndarray:
        """Fraction of the cross section in each Nakazato group, shape ``E.shape + (4,)``; where no group
        is open yet (below 15.51 MeV) everything is put in group 1."""
        g = nakazato_group_sigma(E_MeV)
        tot = g.sum(axis=-1, keepdims=True)
        first = np.zeros_like(g)
        first[..., 0] = 1.0
        return np.where(tot > 0, g / np.where(tot > 0, tot, 1.0), first)

    def group_T_MeV(self, E_MeV: ArrayLike) -> np.ndarray:
        """Electron kinetic energy per group, ``T = E - E_g - m_e`` (clipped at 0), shape ``E.shape + (4,)``."""
        E = np.asarray(E_MeV, dtype=float)[..., None]
        return np.maximum(E - self.group_energies_MeV - M_E_MEV, 0.0)

    def _visible_spectrum(self, E: np.ndarray, edges: np.ndarray) -> np.ndarray:
        frac = self.group_fractions(E)
        T = self.group_T_MeV(E)
        out = np.zeros((E.size, edges.size - 1))
        for g in range(frac.shape[-1]):
            out += frac[:, g, None] * delta_spectrum(E.size, edges, T[:, g])
        return out


class NuebarO16CC(TableBackedCrossSection):
    """anti-nu_e 16O -> e+ X (``nuebar_o16_cc``), Kolbe et al. 2002 via SNOwGLoBES ``xs_nuebar_O16.dat``.

    Parameters: ``excitation_MeV`` (**assumption**, default 0: mean 16N excitation added to the
    threshold for the positron line), ``rel_uncertainty`` (default 0.5, assumption), ``snowglobes_file``.
    """

    name = "nuebar_o16_cc"
    flavour = "anti_nu_e"
    target = "o16"
    visible_particle = "positron"

    def __init__(
        self,
        *,
        excitation_MeV: float = 0.0,
        rel_uncertainty: float = REL_UNCERTAINTY_O16_CCBAR,
        snowglobes_file: str = "xs_nuebar_O16.dat",
    ) -> None:
        self.excitation_MeV = float(excitation_MeV)
        self.rel_uncertainty = float(rel_uncertainty)
        self._table = load_snowglobes(
            snowglobes_file,
            "anti_nu_e",
            name=self.name,
            target=self.target,
            rel_uncertainty=rel_uncertainty,
            citation=KOLBE_CITATION.format(file=snowglobes_file),
            visible_particle=self.visible_particle,
            visible_offset_MeV=E_TH_NUEBAR_O16_MEV + self.excitation_MeV,
        )
        self.threshold_MeV = self._table.threshold_MeV
        self.E_max_MeV = self._table.E_max_MeV
        self.citation = self._table.citation

    def _visible_spectrum(self, E: np.ndarray, edges: np.ndarray) -> np.ndarray:
        return self._table.visible_spectrum(E, edges)


class O16NC(TableBackedCrossSection):
    """nu 16O -> nu X (``nc_o16``) for one flavour; visible: de-excitation gamma lines (assumption).

    Parameters
    ----------
    flavour : str
        One of nu_e, nu_mu, nu_tau and their antineutrinos (each has its SNOwGLoBES file).
    gamma_probability : float
        **Assumption**: probability of a visible de-excitation gamma (default 0.5). Rows sum to it.
    gamma_lines : sequence of (E_gamma MeV, weight)
        Default :data:`NC_O16_GAMMA_LINES`; weights are normalised.
    rel_uncertainty : float
        Default 0.25 (assumption).
    """

    name = "nc_o16"
    target = "o16"
    visible_particle = "gamma"

    def __init__(
        self,
        flavour: str,
        *,
        gamma_probability: float = DEFAULT_NC_O16_GAMMA_PROBABILITY,
        gamma_lines: tuple[tuple[float, float], ...] = NC_O16_GAMMA_LINES,
        rel_uncertainty: float = REL_UNCERTAINTY_O16_NC,
        snowglobes_file: str | None = None,
    ) -> None:
        if flavour not in _SNOWGLOBES_TAG:
            raise ValueError(f"unknown flavour {flavour!r} (known: {', '.join(_SNOWGLOBES_TAG)})")
        if not 0.0 <= gamma_probability <= 1.0:
            raise ValueError(f"gamma_probability must be in [0, 1], got {gamma_probability!r}")
        lines = np.asarray(gamma_lines, dtype=float).reshape(-1, 2)
        if (lines[:, 1] < 0).any() or lines[:, 1].sum() <= 0:
            raise ValueError("gamma_lines: weights must be non-negative with a positive sum")
        fname = snowglobes_file or f"xs_nc_{_SNOWGLOBES_TAG[flavour]}_O16.dat"
        self.flavour = flavour
        self.gamma_probability = float(gamma_probability)
        self.gamma_lines = [(float(e), float(w) / lines[:, 1].sum()) for e, w in lines]
        self.rel_uncertainty = float(rel_uncertainty)
        self._table = load_snowglobes(
            fname,
            flavour,
            name=self.name,
            target=self.target,
            rel_uncertainty=rel_uncertainty,
            citation=KOLBE_CITATION.format(file=fname),
            visible_particle="gamma",
        )
        self.threshold_MeV = self._table.threshold_MeV
        self.E_max_MeV = self._table.E_max_MeV
        self.citation = self._table.citation + "; gamma model: Langanke, Vogel, Kolbe, PRL 76, 2629 (1996) (assumption)"

    def _visible_spectrum(self, E: np.ndarray, edges: np.ndarray) -> np.ndarray:
        out = np.zeros((E.size, edges.size - 1))
        for e_gamma, w in self.gamma_lines:
            out += (self.gamma_probability * w) * delta_spectrum(E.size, edges, e_gamma)
        return out


def michel_averaged_ratio(n: int = 4000) -> float:
    """Ratio Nakazato / Kolbe of the nu_e 16O CC cross section averaged over the mu+ DAR nu_e spectrum
    (:func:`d2oflux.spectra.michel_pdf`). Used to document the uncertainty."""
    E = np.linspace(1e-3, M_MU_MEV / 2, n)
    f = michel_pdf("nu_e", E)
    k = NueO16CC("kolbe").sigma(E)
    nk = NueO16CC("nakazato").sigma(E)
    return float(np.trapezoid(f * nk, E) / np.trapezoid(f * k, E))


# ------------------------------------------------------------------------------------------------
# channels (d2oflux.xsec.channel)
# ------------------------------------------------------------------------------------------------
register_channel(
    Channel(
        name="nue_o16_cc",
        target="o16",
        flavours=("nu_e",),
        factory=lambda flavour, o16_model, **options: NueO16CC(o16_model, **options),
        final_state="nu_e 16O -> e- 16F* (CC on 16O, per excitation group)",
        process_id=110,
        arxiv=("1809.08398", "1807.02367", "hep-ph/0307050"),
        nuisances=("o16_model",),
        label=r"$\nu_e\,^{16}$O CC",
        plot_group="reactions on 16O",
        o16_model_dependent=True,
    )
)
register_channel(
    Channel(
        name="nuebar_o16_cc",
        target="o16",
        flavours=("anti_nu_e",),
        factory=lambda flavour, o16_model, **options: NuebarO16CC(**options),
        final_state="anti-nu_e 16O -> e+ 16N* (CC on 16O)",
        process_id=111,
        label=r"$\bar\nu_e\,^{16}$O CC",
        plot_group="reactions on 16O",
    )
)
register_channel(
    Channel(
        name="nc_o16",
        target="o16",
        flavours=SUPPORTED_FLAVOURS,
        factory=lambda flavour, o16_model, **options: O16NC(flavour, **options),
        final_state="nu 16O -> nu 16O* (NC on 16O; schematic excitation, de-excitation gamma lines)",
        process_id=160,
        label=r"NC on $^{16}$O",
        plot_group="reactions on 16O",
    )
)
