"""Systematics profiles: which nuisance parameters the likelihood carries, and how large.

* ``default``: the detector's own ``[systematics]`` table (defaults from :mod:`d2oflux.assumptions`).
* ``theory-only``: statistics plus the nu-d cross section (3 %) and its radiative correction (1 %);
  every detector, beam and other cross-section nuisance is switched off (size 0), as are the beam-neutron
  normalisation uncertainty. This is the configuration behind the published projections (the COHERENT D2O
  poster's ~3.5 % for 1 t after two SNS-years: 2.3 % counting statistics with 2-3 % theory).
* a TOML file: keys of :class:`d2oflux.detector.SystematicsConfig` (top level or under ``[systematics]``),
  plus optionally ``beam_neutron_rel_uncertainty``; keys not given keep the detector's values.

Usage: ``--systematics theory-only`` on sensitivity, toys, fit, workspace and report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .config import parse_toml, validate
from .errors import ConfigError, read_text_file

PROFILE_NAMES = ("default", "theory-only")

_THEORY_ONLY = {
    "energy_scale": 0.0,
    "resolution_constant": 0.0,
    "efficiency": 0.0,
    "deuteron_count": 0.0,
    "pot": 0.0,
    "o16_model": 0.0,
    "other_cross_sections": 0.0,
}


@dataclass(frozen=True)
class SystematicsProfile:
    """A named set of overrides of the detector's ``[systematics]`` (and beam-neutron uncertainty)."""

    name: str
    systematics: dict[str, float] = field(default_factory=dict)
    beam_neutron_rel_uncertainty: float | None = None

    def changes(self, key: str) -> bool:
        """Whether the profile sets ``key`` (``"systematics.<field>"`` or ``"backgrounds.<field>"``)."""
        section, name = key.split(".", 1)
        if section == "systematics":
            return name in self.systematics
        return name == "beam_neutron_rel_uncertainty" and self.beam_neutron_rel_uncertainty is not None


def load_profile(spec: str | Path | None) -> SystematicsProfile:
    """``None`` or ``"default"``, ``"theory-only"``, or a path to a TOML file (see the module docstring)."""
    from .detector import SystematicsConfig

    if spec is None or str(spec) == "default":
        return SystematicsProfile("default")
    if str(spec) == "theory-only":
        return SystematicsProfile("theory-only", dict(_THEORY_ONLY), 0.0)
    path = Path(spec)
    if not path.exists():
        raise ConfigError(
            f"--systematics: expected {', '.join(PROFILE_NAMES)} or a TOML file, got '{spec}' (no such file)"
        )
    data = parse_toml(str(path), read_text_file(path, "systematics file", "a TOML [systematics] table"))
    data = dict(data.get("systematics", data))
    data.pop("name", None)
    bn = data.pop("beam_neutron_rel_uncertainty", None)
    known = set(SystematicsConfig.model_fields)
    for key, value in data.items():
        if key not in known:
            raise ConfigError(
                f"systematics file '{path}': unknown key '{key}'; expected some of {', '.join(sorted(known))}"
            )
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"systematics file '{path}': '{key}' must be a number >= 0, got {value!r}")
    if bn is not None and (not isinstance(bn, int | float) or isinstance(bn, bool) or bn < 0):
        raise ConfigError(f"systematics file '{path}': 'beam_neutron_rel_uncertainty' must be a number >= 0")
    return SystematicsProfile(path.stem, {k: float(v) for k, v in data.items()}, None if bn is None else float(bn))


def apply_profile(detector, profile: SystematicsProfile | str | None):
    """A copy of ``detector`` with the profile's systematic sizes."""
    from .detector import BackgroundConfig, Detector, SystematicsConfig, check_ceilings

    if not isinstance(profile, SystematicsProfile):
        profile = load_profile(profile)
    if profile.name == "default" and not profile.systematics:
        return detector
    cfg = detector.config
    label = f"--systematics {profile.name}"
    # validated like a detector file's sections (types, bounds and the ceilings of d2oflux.detector.CEILINGS)
    syst = validate(SystematicsConfig, {**cfg.systematics.model_dump(), **profile.systematics}, label)
    bkg = cfg.backgrounds
    if profile.beam_neutron_rel_uncertainty is not None:
        update = {"beam_neutron_rel_uncertainty": profile.beam_neutron_rel_uncertainty}
        bkg = validate(BackgroundConfig, {**bkg.model_dump(), **update}, label)
    new = cfg.model_copy(update={"systematics": syst, "backgrounds": bkg})
    try:
        check_ceilings(new)
    except ValueError as exc:
        raise ConfigError(f"{label}: {exc}") from None
    return Detector(new, detector.label, detector.toml_text, detector.base_dir)
