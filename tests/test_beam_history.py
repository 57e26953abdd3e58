"""Beam-history CSV: exposure from real running, and every malformed file."""

import pytest

from d2oflux.errors import ConfigError
from d2oflux.source import Exposure, load_facility, pot_from_beam


def write(tmp_path, text):
    p = tmp_path / "history.csv"
    p.write_text(text)
    return p


def test_power_rows_sum_to_pot(tmp_path):
    p = write(
        tmp_path,
        "# two periods\nstart,end,power_MW,proton_energy_GeV\n"
        "2025-01-01,2025-01-11,1.4,1.0\n2025-02-01,2025-02-02T12:00,1.0,0.95\n",
    )
    exp = Exposure.from_beam_history(load_facility(), p)
    # hand computation: P t / (E e)
    expected = pot_from_beam(1.4, 10 * 86400, 1.0) + pot_from_beam(1.0, 36 * 3600, 0.95)
    assert exp.pot == pytest.approx(expected)
    assert exp.nu_per_proton == pytest.approx(0.09)
    assert len(exp.periods) == 2


def test_pot_column(tmp_path):
    p = write(tmp_path, "start,end,pot,proton_energy_GeV\n2025-01-01,2025-01-02,1e21,1.0\n")
    assert Exposure.from_beam_history(load_facility(), p).pot == pytest.approx(1e21)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("start,end,proton_energy_GeV\n2025-01-01,2025-01-02,1.0\n", "power_MW' or 'pot"),
        ("start,power_MW,proton_energy_GeV\n2025-01-01,1.0,1.0\n", "missing column 'end'"),
        (
            "start,end,power_MW,proton_energy_GeV\n2025-01-01,2025-01-05,1,1\n2025-01-03,2025-01-08,1,1\n",
            "overlap",
        ),
        ("start,end,power_MW,proton_energy_GeV\n2025-01-01,2025-01-05,-1,1\n", "negative power_MW"),
        ("start,end,power_MW,proton_energy_GeV\n2025-01-01,2025-01-05,abc,1\n", "not a number"),
        ("start,end,power_MW,proton_energy_GeV\nyesterday,2025-01-05,1,1\n", "ISO 8601"),
        ("start,end,power_MW,proton_energy_GeV\n2025-01-05,2025-01-01,1,1\n", "not after"),
        ("start,end,power_MW,proton_energy_GeV\n2025-01-01,2025-01-05,1,1.3\n", "proton_energy_GeV"),
    ],
)
def test_bad_beam_history(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        Exposure.from_beam_history(load_facility(), write(tmp_path, text))


def test_missing_file():
    with pytest.raises(ConfigError, match="does not exist"):
        Exposure.from_beam_history(load_facility(), "/nonexistent/h.csv")
