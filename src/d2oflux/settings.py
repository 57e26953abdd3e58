"""The settings every model-building command shares, as one frozen value (CLI, report, saved models).

:class:`ModelSettings` holds what ``--detector``, ``--years``/``--pot``/``--beam-history``, ``--facility``,
``--nu-per-proton``, ``--mu-minus-dar``, ``--o16-model``, ``--flux-file``, ``--radiative-corrections`` and
``--systematics`` say; :meth:`ModelSettings.setup` turns them into a detector, a source and an exposure and
:meth:`ModelSettings.build_model` into the flux-measurement likelihood. Choices are enums
(:class:`O16Model`), so the command line lists them and rejects anything else. Importing this module is
cheap: the physics modules are imported only when a model is built.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from pathlib import Path

from .errors import ConfigError


class O16Model(StrEnum):
    """The nu_e 16O CC cross-section model: Kolbe et al. 2002 (default) or the Nakazato et al. 2018 fit."""

    kolbe = "kolbe"
    nakazato = "nakazato"


@dataclass(frozen=True)
class ModelSettings:
    """What a command builds its model from (the shared command-line options).

    Attributes
    ----------
    detector : str
        Preset name or path to a detector TOML file.
    years, pot : float or None
        Exposure in SNS-years or protons on target (at most one of these and ``beam_history``; default
        1 SNS-year).
    beam_history : Path or None
        Beam-history CSV (:func:`d2oflux.beam.read_beam_history`).
    facility : str or None
        Facility preset or TOML (default: the detector's).
    nu_per_proton : float or None
        Neutrinos per proton per flavour, overriding the facility's.
    mu_minus_dar : bool
        Include the mu- decay-at-rest anti-nu_e contamination.
    o16_model : O16Model
        nu_e 16O CC model.
    flux_file : Path or None
        Tabulated spectra replacing the analytic piDAR shapes (:class:`d2oflux.spectra.FluxTable`).
    radiative_corrections : bool
        KRV radiative correction on nu-d CC.
    systematics : str
        Systematics profile: ``default``, ``theory-only`` or a TOML file (:mod:`d2oflux.systematics`).
    """

    detector: str = "d2o-module1"
    years: float | None = None
    pot: float | None = None
    beam_history: Path | None = None
    facility: str | None = None
    nu_per_proton: float | None = None
    mu_minus_dar: bool = True
    o16_model: O16Model = O16Model.kolbe
    flux_file: Path | None = None
    radiative_corrections: bool = True
    systematics: str = "default"

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "o16_model", O16Model(self.o16_model))
        except ValueError:
            choices = ", ".join(repr(m.value) for m in O16Model)
            raise ConfigError(f"--o16-model: expected one of {choices}, got {self.o16_model!r}") from None

    def setup(self):
        """The detector, source and exposure (:func:`d2oflux.setup.build_setup`)."""
        from .setup import build_setup

        return build_setup(
            self.detector,
            self.years,
            self.pot,
            self.beam_history,
            self.facility,
            self.nu_per_proton,
            self.mu_minus_dar,
            flux_file=self.flux_file,
        )

    def build_model(self):
        """The flux-measurement likelihood (:func:`d2oflux.analysis.model.build_model`)."""
        from .analysis.model import build_model

        det, src, exposure = self.setup()
        return build_model(
            det,
            src,
            exposure,
            o16_model=self.o16_model.value,
            radiative_corrections=self.radiative_corrections,
            systematics=self.systematics,
        )

    def changed(self) -> list[str]:
        """Names of the settings that differ from the defaults, as command-line options (``--years``)."""
        default = ModelSettings()
        return [
            "--" + f.name.replace("_", "-") for f in fields(self) if getattr(self, f.name) != getattr(default, f.name)
        ]

    def to_dict(self) -> dict:
        """JSON-ready: paths as strings, the enum as its value."""
        out = asdict(self)
        out["o16_model"] = self.o16_model.value
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: dict) -> ModelSettings:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"model settings: unknown key(s) {', '.join(unknown)}; expected some of {sorted(known)}")
        paths = {"beam_history", "flux_file"}
        return cls(**{k: (Path(v) if k in paths and v is not None else v) for k, v in data.items()})
