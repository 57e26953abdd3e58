"""COHERENT's CEvNS detectors as their analysts model them: response chains, public data sets, fits, joint fits.

Modules: :mod:`.response` (quenching -> light yield -> PE/keVee statistics -> acceptance), :mod:`.dataset`
(data-set TOML files), :mod:`.releases` (release file formats), :mod:`.fetch` (checksums, pooch, offline
folder), :mod:`.predict` (CEvNS counts on the analysis axes), :mod:`.fit` (binned likelihood, fit, goodness of
fit, figure), :mod:`.joint` (several data sets and the D2O flux measurement sharing one flux), and
:mod:`.propagation` (what the D2O flux measurement does to the CEvNS cross-section uncertainty).
"""
