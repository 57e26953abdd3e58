"""Tabulated cross sections: validation, interpolation, SNOwGLoBES and CSV readers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from d2oflux.xsec.tables import (
    TabulatedCrossSection,
    read_csv_xsec,
    read_snowglobes_xsec,
    snowglobes_path,
    validate_table,
)

KW = dict(name="test", flavour="nu_e", target="electron", rel_uncertainty=0.1, citation="test")


@pytest.mark.parametrize(
    ("E", "s", "pattern"),
    [
        ([1.0, np.nan, 3.0], [1.0, 2.0, 3.0], r"src: field E_MeV has a non-finite value \(nan\) at row 2"),
        ([1.0, 2.0, 3.0], [1.0, np.nan, 3.0], r"src: field sigma_cm2 has a non-finite value \(nan\) at row 2"),
        ([1.0, 2.0, 3.0], [1.0, -2.0, 3.0], r"src: field sigma_cm2 is negative \(-2\) at row 2"),
        ([1.0, 3.0, 2.0], [1.0, 2.0, 3.0], r"src: field E_MeV is not strictly increasing at row 3 \(2 after 3\)"),
        ([1.0, 1.0, 2.0], [1.0, 2.0, 3.0], r"src: field E_MeV is not strictly increasing at row 2"),
        ([1.0, 2.0], [1.0, 2.0, 3.0], r"src: fields E_MeV \(2 rows\) and sigma_cm2 \(3 rows\) differ"),
        ([1.0], [1.0], r"src: needs at least two rows"),
    ],
)
def test_validate_table_rejects_bad_input(E, s, pattern):
    with pytest.raises(ValueError, match=pattern):
        validate_table(E, s, "src")


def test_bad_table_rejected_by_constructor():
    with pytest.raises(ValueError, match="mytable: field sigma_cm2 is negative"):
        TabulatedCrossSection([1.0, 2.0], [0.0, -1.0], source="mytable", **KW)


def test_loglog_interpolation_exact_for_power_law():
    # sigma = 1e-42 (E/10)^2.3: log-log interpolation is exact; log-linear and linear are not.
    E = np.array([10.0, 20.0, 40.0])
    s = 1e-42 * (E / 10) ** 2.3
    x = np.array([13.0, 27.0, 35.0])
    exact = 1e-42 * (x / 10) ** 2.3
    ll = TabulatedCrossSection(E, s, threshold_MeV=5.0, **KW).sigma(x)
    np.testing.assert_allclose(ll, exact, rtol=1e-12)
    lin = TabulatedCrossSection(E, s, threshold_MeV=5.0, interpolation="linear", **KW).sigma(x)
    np.testing.assert_allclose(lin, np.interp(x, E, s), rtol=1e-12)
    loglin = TabulatedCrossSection(E, s, threshold_MeV=5.0, interpolation="loglinear", **KW).sigma(x)
    np.testing.assert_allclose(loglin, np.exp(np.interp(x, E, np.log(s))), rtol=1e-12)


def test_threshold_and_range():
    xs = TabulatedCrossSection([2.0, 3.0, 4.0], [0.0, 1e-42, 2e-42], **KW)
    assert xs.threshold_MeV == 2.0  # last zero before the first positive value
    np.testing.assert_array_equal(xs.sigma([0.0, 1.0, 2.0]), 0.0)
    assert xs.sigma(2.5) == pytest.approx(0.5e-42)  # linear in a segment starting at zero
    assert xs.sigma(4.0) == pytest.approx(2e-42)
    with pytest.raises(ValueError, match=r"test \(table\): neutrino energy 4.5 MeV is above the valid range"):
        xs.sigma([3.0, 4.5])
    with pytest.raises(ValueError, match="E_MeV: neutrino energy is NaN"):
        xs.sigma([3.0, np.nan])
    # threshold below the table: extended with a zero at the threshold
    xs2 = TabulatedCrossSection([2.0, 3.0], [1e-42, 2e-42], threshold_MeV=1.0, **KW)
    assert xs2.sigma(1.5) == pytest.approx(0.5e-42)
    assert xs2.sigma(0.9) == 0.0


def test_generic_visible_spectrum_is_a_delta():
    xs = TabulatedCrossSection([2.0, 3.0, 40.0], [0.0, 1e-42, 2e-42], **KW)
    P = xs.visible_spectrum([1.0, 12.5, 30.0], np.arange(0.0, 21.0, 1.0))
    np.testing.assert_array_equal(P.sum(axis=1), [0.0, 1.0, 0.0])  # below threshold; inside; outside edges
    assert P[1, 10] == 1.0  # T = 12.5 - 2 = 10.5
    with pytest.raises(ValueError, match="T_edges_MeV"):
        xs.visible_spectrum([5.0], [1.0, 0.5])


def test_snowglobes_reader_units():
    # first data row of xs_nue_d.dat: log10(E/GeV) = -2.30103, sigma/E = 0.00692e-38 cm^2/GeV
    E, s = read_snowglobes_xsec("xs_nue_d.dat", "nu_e")
    assert E[0] == pytest.approx(1e3 * 10**-2.30103, rel=1e-12)
    assert s[0] == pytest.approx(0.00692e-38 * 10**-2.30103, rel=1e-12)
    assert snowglobes_path("xs_nue_d.dat").parent.name == "xscns"


def _write_sg(path, rows):
    path.write_text("# header\n\n" + "\n".join(" ".join(str(v) for v in r) for r in rows) + "\n")


def test_snowglobes_reader_errors(tmp_path):
    good = [[-2.0, 1, 0, 0, 0, 0, 0], [-1.9, 2, 0, 0, 0, 0, 0]]
    p = tmp_path / "xs_good.dat"
    _write_sg(p, good)
    E, s = read_snowglobes_xsec(p, "nu_e")
    assert E == pytest.approx([10.0, 1e3 * 10**-1.9])
    assert s == pytest.approx([1e-38 * 0.01, 2e-38 * 10**-1.9])
    bad = tmp_path / "xs_bad.dat"
    _write_sg(bad, [[-2.0, 1, 0, 0, 0, 0, 0], [-2.1, 2, 0, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match=r"xs_bad.dat: field log10\(E/GeV\) is not strictly increasing at row 2"):
        read_snowglobes_xsec(bad, "nu_e")
    _write_sg(bad, [[-2.0, 1, 0, 0, 0, 0, 0], [-1.9, "nan", 0, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match="xs_bad.dat: field nu_e has a non-finite value"):
        read_snowglobes_xsec(bad, "nu_e")
    _write_sg(bad, [[-2.0, 1, 0, 0, -1, 0, 0], [-1.9, 1, 0, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match="xs_bad.dat: field anti_nu_e is negative"):
        read_snowglobes_xsec(bad, "anti_nu_e")
    _write_sg(bad, [[-2.0, 1, 0], [-1.9, 1, 0]])
    with pytest.raises(ValueError, match="xs_bad.dat: line 3 has 3 columns, expected 7"):
        read_snowglobes_xsec(bad, "nu_e")
    with pytest.raises(FileNotFoundError, match="no_such_file.dat"):
        read_snowglobes_xsec("no_such_file.dat", "nu_e")


def test_csv_reader(tmp_path):
    p = tmp_path / "user.csv"
    p.write_text("# my cross section\nE_MeV,sigma_cm2\n10,1e-42\n20,4e-42\n")
    E, s = read_csv_xsec(p)
    np.testing.assert_array_equal(E, [10, 20])
    np.testing.assert_array_equal(s, [1e-42, 4e-42])
    p.write_text("E_MeV,sigma_cm2\n10,1e-42\n5,4e-42\n")
    with pytest.raises(ValueError, match="user.csv: field E_MeV is not strictly increasing at row 2"):
        read_csv_xsec(p)
    p.write_text("E_MeV,sigma\n10,1e-42\n20,4e-42\n")
    with pytest.raises(ValueError, match="user.csv: missing column sigma_cm2"):
        read_csv_xsec(p)
    p.write_text("E_MeV,sigma_cm2\n10,abc\n")
    with pytest.raises(ValueError, match="user.csv: line 2, field sigma_cm2: 'abc' is not a number"):
        read_csv_xsec(p)


def test_bare_snowglobes_name_is_the_packaged_table_even_with_a_namesake_in_the_working_folder(tmp_path, monkeypatch):
    """A file called like a packaged table in the working folder must not replace it silently (the rate
    cache keys the packaged tables, not the working folder); a path with a folder part is the user's file."""
    packaged = snowglobes_path("xs_nue_d.dat")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "xs_nue_d.dat").write_text("garbage\n")
    assert snowglobes_path("xs_nue_d.dat") == packaged
    assert snowglobes_path("./xs_nue_d.dat") == Path("xs_nue_d.dat")
    with pytest.raises(FileNotFoundError, match="no such file"):
        snowglobes_path(str(tmp_path / "missing" / "xs_nue_d.dat"))
