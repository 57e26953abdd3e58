"""d2oflux: heavy-water flux normalisation of a pion-decay-at-rest neutrino source."""

__version__ = "0.1.0"
