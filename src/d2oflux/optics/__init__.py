"""Optical model of a water/heavy-water Cherenkov (or water-based scintillator) module.

From the geometry and the materials to the light yield: ``config`` (the ``[optics]`` section),
``materials`` (tables with sources), ``geometry`` (arrays for the kernels), ``photons`` (photon transport,
backend interface), ``tracks`` (electrons and gammas and their light), ``response`` (the derived response
and its cache), ``michel`` (Michel electrons from stopped cosmic muons), ``calibrate`` (light yield and
resolution from a Michel PE spectrum), ``plots`` (figures), ``commands`` (CLI).
"""
