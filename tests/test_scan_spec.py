"""Scan specifications: parameter paths against the schemas, ranges, sampling, mass-geometry consistency, errors."""

import math
from pathlib import Path

import numpy as np
import pytest

from d2oflux.cli import main
from d2oflux.detector import load_detector
from d2oflux.errors import ConfigError
from d2oflux.scan.space import configure, count_points, iter_points, make_base
from d2oflux.scan.spec import load_spec

HEAD = """
[scan]
detector = "d2o-module1"
years = [1.0]
"""


def write_spec(tmp_path: Path, body: str, head: str = HEAD) -> Path:
    p = tmp_path / "spec.toml"
    p.write_text(head + body)
    return p


def spec_error(tmp_path, body, head=HEAD) -> str:
    with pytest.raises(ConfigError) as exc:
        spec = load_spec(write_spec(tmp_path, body, head))
        base = make_base(spec)
        for point in iter_points(spec):
            configure(base, point)
    return str(exc.value)


def test_presets_load_and_count():
    smoke = load_spec("smoke")
    assert count_points(smoke) == 60 and smoke.settings.years == (1.0,)
    design = load_spec("module-design")
    assert count_points(design) == 4 * 7 * 3 * 3
    assert set(design.parameter_paths) == {
        "distance_m",
        "regions.d2o.mass_kg",
        "response.light_yield_pe_per_MeV",
        "analysis.energy_window_MeV",
    }


def test_linspace_logspace_and_nested_tables(tmp_path):
    spec = load_spec(
        write_spec(
            tmp_path,
            """
[parameters]
distance_m = { linspace = [18.0, 26.0, 5] }
[parameters.regions.d2o]
mass_kg = { logspace = [100.0, 10000.0, 3] }
""",
        )
    )
    ranges = {p.path: p.values for p in spec.parameters}
    assert ranges["distance_m"] == pytest.approx([18, 20, 22, 24, 26], rel=1e-15)
    assert ranges["regions.d2o.mass_kg"] == pytest.approx([100, 1000, 10000], rel=1e-12)  # log-spaced endpoints
    points = list(iter_points(spec))
    assert len(points) == 15 and points[1].values == {"distance_m": 18.0, "regions.d2o.mass_kg": 1000.0}


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ('[parameters]\n"regions.d2o.mas_kg" = [1.0, 2.0]', "unknown key 'mas_kg' (did you mean 'mass_kg'?)"),
        ('[parameters]\n"regions.d20.mass_kg" = [1.0, 2.0]', "no entry named 'd20'"),
        ('[parameters]\n"xyz.count" = [12, 24]', "unknown key 'xyz'"),
        ('[parameters]\n"response" = [1.0, 2.0]', "is a table"),
        ("[parameters]\ndistance_m = []", "empty"),
        ("[parameters]\ndistance_m = [20.0, 19.0, 25.0]", "not strictly monotonic"),
        ("[parameters]\ndistance_m = { linspace = [20.0, 20.0, 3] }", "empty"),
        ("[parameters]\ndistance_m = { linspace = [18.0, 20.0, 0] }", "n >= 1"),
        ("[parameters]\ndistance_m = { uniform = [20.0, 18.0] }", "empty"),
        ("[parameters]\ndistance_m = { uniform = [18.0, 20.0] }", "method = 'random' or 'lhs'"),
        ("[parameters]\ndistance_m = { steps = [1, 2] }", "has no key 'steps' (a range is"),
        ('[parameters]\n"regions.d2o.mass_kg" = [-5.0, 100.0]', "regions.0.mass_kg"),
        ('[parameters]\n"analysis.energy_window_MeV" = [[11.0, 55.0]]', "not a bin edge"),
        ('[parameters]\n"facility.power_MW" = [0.0, 1.4]', "power_MW"),
        ("[parameters]\n", "[parameters] is empty"),
        ("[parameters]\ndistance_m = [20.0]\n[constraints]\nfootprint = [1, 2]", "unknown key 'footprint'"),
    ],
)
def test_bad_specs_are_one_line_errors(tmp_path, body, match):
    msg = spec_error(tmp_path, body)
    assert match in msg and "\n" not in msg


def test_missing_years_and_unknown_table(tmp_path):
    assert "years" in spec_error(
        tmp_path, "[parameters]\ndistance_m = [20.0]", head='[scan]\ndetector = "d2o-module1"\n'
    )
    assert "unknown table 'paramters'" in spec_error(tmp_path, "[paramters]\ndistance_m = [20.0]")


def test_mass_scan_scales_geometry_and_shells(tmp_path):
    """Density (mass / volume) of every region and the shells' wall thickness stay those of the preset."""
    spec = load_spec(write_spec(tmp_path, '[parameters]\n"regions.d2o.mass_kg" = [296.0, 2368.0]'))
    base_det = load_detector("d2o-module1")
    base = make_base(spec)
    for point in iter_points(spec):
        cfg = configure(base, point).detector
        for new, old in zip(cfg.regions, base_det.regions, strict=True):
            density_new = new.mass_kg / new.geometry.volume_cm3
            density_old = old.mass_kg / old.geometry.volume_cm3
            assert density_new == pytest.approx(density_old, rel=1e-12)
        (d2o, acrylic, h2o), (d2o0, acr0, h2o0) = cfg.regions, base_det.regions
        assert d2o.mass_kg == point.values["regions.d2o.mass_kg"]
        factor = (d2o.mass_kg / d2o0.mass_kg) ** (1 / 3)
        assert d2o.geometry.radius_cm == pytest.approx(d2o0.geometry.radius_cm * factor, rel=1e-12)
        aspect0 = d2o0.geometry.height_cm / d2o0.geometry.radius_cm
        assert d2o.geometry.height_cm / d2o.geometry.radius_cm == pytest.approx(aspect0, rel=1e-12)
        assert acrylic.geometry.inner_radius_cm == pytest.approx(d2o.geometry.radius_cm, rel=1e-12)
        for new, old in ((acrylic, acr0), (h2o, h2o0)):  # walls keep their thickness
            wall = old.geometry.radius_cm - old.geometry.inner_radius_cm
            assert new.geometry.radius_cm - new.geometry.inner_radius_cm == pytest.approx(wall, rel=1e-9)


def test_geometry_scan_updates_mass(tmp_path):
    spec = load_spec(write_spec(tmp_path, '[parameters]\n"regions.d2o.geometry.radius_cm" = [35.0, 70.0]'))
    base = make_base(spec)
    masses = [configure(base, p).detector.regions[0].mass_kg for p in iter_points(spec)]
    assert masses[1] / masses[0] == pytest.approx(4.0, rel=1e-12)  # pi r^2 h at fixed height


def test_facility_keys_and_generic_paths(tmp_path):
    spec = load_spec(
        write_spec(
            tmp_path,
            '[parameters]\n"facility.power_MW" = [1.4, 2.0]\n"backgrounds.steady_state_rate_per_MeV_s" = [1e-4, 2e-4]',
        )
    )
    base = make_base(spec)
    c = [configure(base, p) for p in iter_points(spec)]
    assert c[-1].facility.power_MW == 2.0 and c[-1].detector.backgrounds.steady_state_rate_per_MeV_s == 2e-4
    assert len({x.config_hash for x in c}) == 4


@pytest.mark.parametrize("method", ["random", "lhs"])
def test_sampling_is_seeded_and_in_range(tmp_path, method):
    body = f"""
[sampling]
method = "{method}"
n = 50
[parameters]
distance_m = {{ uniform = [18.0, 28.0] }}
"regions.d2o.mass_kg" = {{ loguniform = [300.0, 3000.0] }}
"response.light_yield_pe_per_MeV" = [10.0, 15.0, 20.0]
"""
    spec = load_spec(write_spec(tmp_path, body))
    a = [p.values for p in iter_points(spec)]
    b = [p.values for p in iter_points(load_spec(write_spec(tmp_path, body)))]
    assert a == b and len(a) == 50
    d = np.array([v["distance_m"] for v in a])
    m = np.array([v["regions.d2o.mass_kg"] for v in a])
    assert d.min() >= 18 and d.max() < 28 and m.min() >= 300 and m.max() < 3000
    assert {v["response.light_yield_pe_per_MeV"] for v in a} == {10.0, 15.0, 20.0}
    if method == "lhs":  # Latin hypercube: exactly one sample in each of the n equal strata of every axis
        assert sorted(np.floor((d - 18) / 10 * 50).astype(int)) == list(range(50))
        assert sorted(np.floor(np.log(m / 300) / math.log(10) * 50).astype(int)) == list(range(50))
    other = load_spec(write_spec(tmp_path, body, head=HEAD.replace("[1.0]", "[1.0]\nseed = 2")))
    assert [p.values for p in iter_points(other)] != a


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_errors_are_one_line_exit_2(tmp_path, capsys):
    spec = write_spec(tmp_path, '[parameters]\n"regions.d2o.mas_kg" = [1.0, 2.0]')
    code, _, err = run(capsys, "scan", str(spec), "-o", str(tmp_path / "s"), "--workers", "0")
    assert code == 2 and err.startswith("d2oflux: error:") and "mas_kg" in err and err.count("\n") == 1
    assert not (tmp_path / "s").exists()  # nothing written before the specification is valid
    code, _, err = run(capsys, "scan", "smoke", "-o", str(tmp_path / "s"), "--workers", "0", "--max-points", "10")
    assert code == 2 and "60 points, more than --max-points 10" in err and err.count("\n") == 1
    code, _, err = run(capsys, "scan", "smok", "-o", str(tmp_path / "s"))
    assert code == 2 and "did you mean 'smoke'" in err
