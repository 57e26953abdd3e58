"""Running scans: numbers vs the single-configuration API, constraints, resume after SIGKILL, executors, report.

Sensitivities are never hard-coded: every scan number is compared with ``build_model`` + ``sensitivity``
(Newton fits of the Asimov dataset, a second method) on the same configuration.
"""

import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from d2oflux.analysis.model import build_model
from d2oflux.analysis.sensitivity import sensitivity
from d2oflux.cli import main
from d2oflux.detector import Detector, load_detector
from d2oflux.errors import ConfigError
from d2oflux.rates import expect
from d2oflux.scan.runner import run_scan
from d2oflux.scan.space import configure, iter_points, make_base
from d2oflux.scan.spec import load_spec
from d2oflux.scan.store import ScanStore
from d2oflux.source import Exposure, Source

SRC = str(Path(__file__).resolve().parents[1] / "src")

SPEC = """
[scan]
name = "test"
detector = "d2o-module1"
years = [0.5, 2.0]
seed = 3
targets_percent = [6.0, 5.0]

[parameters]
distance_m = [18.0, 24.0]
"regions.d2o.mass_kg" = [400.0, 1200.0]
"response.light_yield_pe_per_MeV" = [10.0, 20.0]
"""


def write(tmp_path: Path, text: str = SPEC, name: str = "spec.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def rows_by_key(store: Path) -> dict:
    table = ScanStore.open(store).read().to_pylist()
    out = {}
    for r in table:
        key = (r["point"], r["years"])
        assert key not in out, f"duplicate row {key}"
        out[key] = r
    return out


def assert_same_rows(a: dict, b: dict, rtol: float = 1e-12) -> None:
    assert a.keys() == b.keys()
    for key in a:
        ra, rb = a[key], b[key]
        assert ra.keys() == rb.keys()
        for col, va in ra.items():
            vb = rb[col]
            if isinstance(va, float):
                assert (math.isnan(va) and math.isnan(vb)) or va == pytest.approx(vb, rel=rtol, abs=0), (key, col)
            else:
                assert va == vb, (key, col)


def test_numbers_match_build_model_and_sensitivity(tmp_path):
    """Second method: the Newton fits of ``sensitivity`` on a model built by the public API, per exposure."""
    spec = load_spec(write(tmp_path))
    run_scan(spec, tmp_path / "store", workers=0)
    rows = rows_by_key(tmp_path / "store")
    base = make_base(spec)
    for point in list(iter_points(spec))[::3]:
        c = configure(base, point)
        det = Detector(c.detector, "scan point", "", Path.cwd())
        source = Source(c.facility, include_mu_minus_dar=True)
        model = build_model(det, source, Exposure.from_years(c.facility, 1.0))
        sens = sensitivity(model, list(spec.settings.years))
        for y, total, stat in zip(sens.years, sens.total, sens.stat_only, strict=True):
            r = rows[(point.index, y)]
            # same likelihood; the fits stop within tol 1e-12 of the minimum, the Hessian is the same formula
            assert r["total"] == pytest.approx(total, rel=1e-7)
            assert r["stat_only"] == pytest.approx(stat, rel=1e-7)
            assert r["config_hash"] == c.config_hash
        last = rows[(point.index, max(sens.years))]
        for name, impact in sens.impacts.items():
            assert last[f"impact.{name}"] == pytest.approx(impact, rel=1e-5, abs=1e-9)
        # events: the rate engine on its own at 2 years
        res = expect(det, source, Exposure.from_years(c.facility, 2.0))
        assert last["events.nue_d_cc"] == pytest.approx(res.channels["nue_d_cc"].detected, rel=1e-12)


def test_time_to_target_reaches_the_target(tmp_path):
    """At the reported time, an independent Asimov fit at that exposure gives exactly the target precision."""
    spec = load_spec(write(tmp_path))
    run_scan(spec, tmp_path / "store", workers=0)
    r = rows_by_key(tmp_path / "store")[(5, 0.5)]
    c = configure(make_base(spec), list(iter_points(spec))[5])
    det = Detector(c.detector, "scan point", "", Path.cwd())
    model = build_model(det, Source(c.facility, True), Exposure.from_years(c.facility, 1.0))
    for pct in ("6", "5"):
        years = r[f"years_to_{pct}pct_total"]
        assert math.isfinite(years)
        assert sensitivity(model, [years]).total[0] == pytest.approx(float(pct) / 100, rel=1e-6)
        stat_years = r[f"years_to_{pct}pct_stat"]
        assert sensitivity(model, [stat_years]).stat_only[0] == pytest.approx(float(pct) / 100, rel=1e-6)


def test_constraints_remove_exactly_the_violating_points(tmp_path):
    """Footprint and mass limits, checked against hand-computed module dimensions (d2o-module1 layout)."""
    text = SPEC.replace('"regions.d2o.mass_kg" = [400.0, 1200.0]', '"regions.d2o.mass_kg" = [300.0, 1000.0, 3000.0]')
    text += "\n[constraints]\nfootprint_m = [1.3, 3.0]\nmax_mass_kg = 2000.0\n"
    spec = load_spec(write(tmp_path, text))
    summary = run_scan(spec, tmp_path / "store", workers=0)
    done = {r["regions.d2o.mass_kg"] for r in rows_by_key(tmp_path / "store").values()}

    d2o0, acr0, h2o0 = (r.geometry for r in load_detector("d2o-module1").regions)
    masses0 = [r.mass_kg for r in load_detector("d2o-module1").regions]

    def module(m):  # width and total mass, by hand: D2O cylinder scaled as m^(1/3), shells keep their walls
        f = (m / masses0[0]) ** (1 / 3)
        r, h = d2o0.radius_cm * f, d2o0.height_cm * f
        v = lambda R, H, r0, h0: math.pi * (R**2 * H - r0**2 * h0)  # noqa: E731
        dr1, dh1 = acr0.radius_cm - acr0.inner_radius_cm, acr0.height_cm - acr0.inner_height_cm
        dr2, dh2 = h2o0.radius_cm - h2o0.inner_radius_cm, h2o0.height_cm - h2o0.inner_height_cm
        acr = masses0[1] * v(r + dr1, h + dh1, r, h) / acr0.volume_cm3
        wat = masses0[2] * v(r + dr1 + dr2, h + dh1 + dh2, r + dr1, h + dh1) / h2o0.volume_cm3
        return 2 * (r + dr1 + dr2) / 100, m + acr + wat

    expected = {m for m in (300.0, 1000.0, 3000.0) if module(m)[0] <= 1.3 and module(m)[1] <= 2000.0}
    assert done == expected and 0 < len(expected) < 3
    assert summary.excluded_by_constraints == 4 * (3 - len(expected)) and summary.computed == 4 * len(expected)


def test_resume_after_sigkill_equals_clean_run(tmp_path):
    """Kill the client mid-scan, rerun: same rows as an uninterrupted serial run, no duplicates, no partial file."""
    spec_path = write(tmp_path)
    store = tmp_path / "killed"
    cmd = [sys.executable, "-m", "d2oflux.cli", "scan", str(spec_path), "-o", str(store), "--workers", "0"]
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen([*cmd, "--batch-size", "1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(store.glob("part-*.parquet"))) < 2:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = len(list(store.glob("part-*.parquet")))
    assert 2 <= partial < 8, "the scan finished before it could be killed"
    (store / ".tmp-part-99999999-deadbeef.parquet").write_bytes(b"PAR1 half a file")  # a chunk cut mid-write
    done = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout)
    assert summary["already_done"] == partial and summary["computed"] == 8 - partial
    assert not list(store.glob(".tmp-*"))
    clean = tmp_path / "clean"
    run_scan(load_spec(spec_path), clean, workers=0, batch_size=3)
    assert_same_rows(rows_by_key(store), rows_by_key(clean), rtol=1e-12)


def test_rerun_skips_and_store_of_other_spec_is_refused(tmp_path, capsys):
    spec = write(tmp_path)
    store = str(tmp_path / "store")
    assert main(["scan", str(spec), "-o", store, "--workers", "0", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["computed"] == 8 and first["rows_in_store"] == 16
    assert main(["scan", str(spec), "-o", store, "--workers", "0", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["computed"] == 0 and again["already_done"] == 8 and again["rows_in_store"] == 16
    other = write(tmp_path, SPEC.replace("seed = 3", "seed = 4"), "other.toml")
    code = main(["scan", str(other), "-o", store, "--workers", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "'scan.seed' is 3 there and 4 here" in err and err.count("\n") == 1
    det = tmp_path / "det.toml"
    det.write_text(load_detector("d2o-module1").toml_text)
    with_file = write(tmp_path, SPEC.replace('detector = "d2o-module1"', 'detector = "det.toml"'), "file.toml")
    assert main(["scan", str(with_file), "-o", str(tmp_path / "f"), "--workers", "0", "--json"]) == 0
    det.write_text(re.sub(r'(?m)^name = ".*"$', 'name = "edited"', det.read_text(), count=1))
    capsys.readouterr()
    assert main(["scan", str(with_file), "-o", str(tmp_path / "f"), "--workers", "0"]) == 2
    assert "another base detector configuration" in capsys.readouterr().err
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert main(["scan", str(spec), "-o", str(foreign), "--workers", "0"]) == 2
    assert "not empty" in capsys.readouterr().err and (foreign / "notes.txt").read_text() == "mine"


def test_unreachable_scheduler_is_a_one_line_error(tmp_path, capsys):
    start = time.time()
    code = main(["scan", str(write(tmp_path)), "-o", str(tmp_path / "s"), "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the Dask scheduler" in err and err.count("\n") == 1
    assert time.time() - start < 30
    assert not (tmp_path / "s").exists()  # checked before the store is created: nothing left behind


def test_batching_and_dask_workers_do_not_change_results(tmp_path):
    """The only test with a real LocalCluster (2 workers), one of which is killed mid-scan; serial batches too."""
    import psutil

    spec = load_spec(write(tmp_path))
    run_scan(spec, tmp_path / "serial", workers=0, batch_size=1)
    run_scan(spec, tmp_path / "serial5", workers=0, batch_size=5)
    store = tmp_path / "dask"
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    thread = threading.Thread(target=run_scan, args=(spec, store), kwargs={"workers": 2, "batch_size": 1})
    thread.start()
    killed_at = None
    deadline = time.time() + 240
    while thread.is_alive() and time.time() < deadline:
        if len(list(store.glob("part-*.parquet"))) >= 1:
            workers = [
                p
                for p in psutil.Process().children(recursive=True)
                if p.pid not in before and "spawn_main" in " ".join(p.cmdline())
            ]
            if workers:
                killed_at = len(list(store.glob("part-*.parquet")))
                os.kill(workers[0].pid, signal.SIGKILL)  # a worker process this test started
                break
        time.sleep(0.02)
    thread.join(timeout=300)
    assert not thread.is_alive()
    assert killed_at is not None and killed_at < 8, "no worker was killed mid-scan"
    serial = rows_by_key(tmp_path / "serial")
    assert_same_rows(serial, rows_by_key(tmp_path / "serial5"), rtol=0)
    assert_same_rows(serial, rows_by_key(store), rtol=1e-12)  # complete, no duplicates despite the dead worker


def toy_spec(tmp_path, ntoys):
    text = SPEC.replace("seed = 3", f"seed = 3\ntoys = {ntoys}").replace("[18.0, 24.0]", "[20.0]")
    text = text.replace("[400.0, 1200.0]", "[600.0]").replace("[10.0, 20.0]", "[15.0]")
    return load_spec(write(tmp_path, text))


def test_toys_are_seeded_per_point_and_exposure(tmp_path):
    spec = toy_spec(tmp_path, 20)
    run_scan(spec, tmp_path / "a", workers=0)
    run_scan(spec, tmp_path / "b", workers=0)
    a, b = rows_by_key(tmp_path / "a"), rows_by_key(tmp_path / "b")
    assert_same_rows(a, b, rtol=0)
    assert a[(0, 0.5)]["toys.seed"] != a[(0, 2.0)]["toys.seed"]
    assert a[(0, 0.5)]["toys.fitted_spread"] > a[(0, 2.0)]["toys.fitted_spread"] > 0


@pytest.mark.slow
def test_toys_agree_with_asimov(tmp_path):
    spec = toy_spec(tmp_path, 2000)
    run_scan(spec, tmp_path / "a", workers=0)
    for r in rows_by_key(tmp_path / "a").values():
        assert r["toys.n_converged"] >= 1980
        # the spread of the fitted flux agrees with the Asimov total within 4 sigma of its statistical error
        err = r["toys.fitted_spread"] / math.sqrt(2 * (r["toys.n_converged"] - 1))
        assert abs(r["toys.fitted_spread"] - r["total"]) < 4 * err


def test_report_answers_from_the_store(tmp_path, capsys):
    spec = write(tmp_path)
    store = tmp_path / "store"
    code = main(["scan", str(spec), "-o", str(store), "--workers", "0", "--report", str(tmp_path / "rep"), "--json"])
    assert code == 0
    answer = json.loads(capsys.readouterr().out)["answer"]
    rows = list(rows_by_key(store).values())
    fastest = min(rows, key=lambda r: r["years_to_5pct_total"])
    assert answer["fastest"]["5"]["years_total"] == fastest["years_to_5pct_total"]
    assert answer["fastest"]["5"]["design"]["config_hash"] == fastest["config_hash"]
    # Pareto front: sorted by mass, strictly improving, and no row at T both lighter and more precise
    front = answer["pareto_front"]["d2o_mass_kg"]
    at_t = [r for r in rows if r["years"] == 2.0]
    for e in front:
        assert not any(r["d2o_mass_kg"] <= e["d2o_mass_kg"] and r["total"] < e["total"] for r in at_t)
    assert np.all(np.diff([e["total"] for e in front]) < 0)
    for name in ("pareto.png", "time_to_target.png", "sensitivity_vs_parameters.png", "scan-report.md"):
        assert (tmp_path / "rep" / name).stat().st_size > 0
    assert len(list((tmp_path / "rep").glob("map_*.png"))) == 3
    assert main(["scan-report", str(store), "-o", str(tmp_path / "rep2"), "--years", "7"]) == 2
    assert "not a scanned exposure" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="no _scan.json"):
        ScanStore.open(tmp_path)
    assert pq.read_table(next(store.glob("part-*.parquet"))).column("d2oflux_version")[0].as_py()
    assert pq.read_table(store).num_rows == len(rows)  # the folder is a plain Parquet dataset
