"""The event generator's files: formats, read-back, reproducibility, NuHepMC, bad input, the command line."""

import hashlib
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import typer

from d2oflux.detector import VISIBLE_PARTICLES, load_detector
from d2oflux.errors import ConfigError
from d2oflux.generate import generate, read_events
from d2oflux.generate.command import generate_command
from d2oflux.generate.writers import FS_FIELDS, PARQUET_COLUMNS
from d2oflux.rates import expect
from d2oflux.source import Exposure, Source, load_facility

FAC = load_facility("sns-fts")
SRC = Source(FAC, include_mu_minus_dar=True)
DET = load_detector("d2o-module1")
MIX = ["nue_d_cc", "nc_d", "nc_o16", "es_nue", "nue_o16_cc@h2o", "ibd_h", "cevns_O"]


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The same run (seed 5, 200 events per channel, chunks of 300) in the three formats."""
    folder = tmp_path_factory.mktemp("gen")
    out = {}
    for fmt in ("parquet", "root", "hepmc3"):
        path = folder / f"events.{fmt}"
        summary = generate(
            DET,
            SRC,
            None,
            n_events=200,
            per_channel=True,
            channels=MIX,
            seed=5,
            output=path,
            chunk_size=300,
            progress=False,
        )
        out[fmt] = (path, summary)
    return out


def test_parquet_columns_and_summary(written):
    import pyarrow.parquet as pq

    path, summary = written["parquet"]
    table = pq.read_table(path)
    for name in (*PARQUET_COLUMNS, *(f"fs_{k}" for k in FS_FIELDS)):
        assert name in table.column_names
    n = table.num_rows
    assert n == summary["total"] == 200 * len(MIX)
    assert pq.ParquetFile(path).metadata.num_row_groups == math.ceil(n / 300)  # streamed in chunks
    ev = read_events(path)
    assert np.array_equal(ev["event_id"], np.arange(n))
    for label in MIX:
        chan = label.split("@")[0]
        assert summary["events"][label] == 200
        assert np.count_nonzero(ev["channel"] == chan) == 200
    assert set(ev["region"][ev["channel"] == "nue_o16_cc"]) == {"h2o"}
    run = ev["run"]
    assert run["seed"] == 5 and run["mode"] == "count"
    # weights restore the physical channel mix: a channel's weights sum to its interactions per SNS-year
    # as the rate engine totals them (second path: expect()'s per-channel sums; CEvNS needs a response
    # that sees recoils for its components to exist)
    rates = expect(
        DET, SRC, Exposure.from_years(FAC, 1.0), response=DET.make_response(visible_particles=VISIBLE_PARTICLES)
    )
    for s in run["selection"]:
        per_year = rates.channels[s["label"]].interactions
        assert s["weight"] * s["events"] == pytest.approx(per_year, rel=1e-12), s["label"]
        assert s["expected_per_sns_year"] == pytest.approx(per_year, rel=1e-12), s["label"]
    # lepton columns are the first final-state particle
    first = ev["fs_offsets"][:-1]
    assert np.array_equal(ev["lepton_pdg"], ev["fs_pdg"][first])


@pytest.mark.parametrize("fmt", ["root", "hepmc3"])
def test_formats_read_back_identically(written, fmt):
    ref = read_events(written["parquet"][0])
    got = read_events(written[fmt][0])
    assert got["run"] == ref["run"]
    for name in (*PARQUET_COLUMNS, "fs_offsets", *(f"fs_{k}" for k in FS_FIELDS)):
        a, b = ref[name], got[name]
        assert a.shape == b.shape, name
        if a.dtype == object or np.issubdtype(a.dtype, np.integer):
            assert np.array_equal(a, b), name
        elif fmt == "root" or name.startswith(("fs_", "vertex", "nu_energy", "weight", "target_mass")):
            assert np.array_equal(a, b), name  # ROOT: bit-exact; HepMC3: momenta printed with 17 digits
        else:  # HepMC3: recomputed from the record (direction from p/E, time from c t, T = E - m)
            assert np.allclose(a, b, rtol=1e-12, atol=1e-12), name


@pytest.mark.parametrize("fmt", ["parquet", "root", "hepmc3"])
def test_same_seed_same_bytes(written, tmp_path, fmt):
    again = tmp_path / f"again.{fmt}"
    kw = dict(n_events=200, per_channel=True, channels=MIX, chunk_size=300, progress=False)
    generate(DET, SRC, None, seed=5, output=again, **kw)
    other = tmp_path / f"other.{fmt}"
    generate(DET, SRC, None, seed=6, output=other, **kw)
    if fmt == "root":  # ROOT records carry their write time (uproot cannot pin it): compare the content
        ref, got, oth = (read_events(p) for p in (written[fmt][0], again, other))
        assert got["run"] == ref["run"]
        for name in (*PARQUET_COLUMNS, "fs_offsets", *(f"fs_{k}" for k in FS_FIELDS)):
            assert np.array_equal(got[name], ref[name]), name
        assert not np.array_equal(oth["nu_energy_MeV"], got["nu_energy_MeV"])
    else:
        assert digest(again) == digest(written[fmt][0])
        assert digest(other) != digest(again)
    assert files(tmp_path) == sorted([again.name, other.name])  # no temporary files left


def test_hepmc3_follows_nuhepmc(written):
    import pyhepmc

    path, _ = written["hepmc3"]
    with pyhepmc.open(str(path)) as f:
        events = list(f)
    ri = events[0].run_info
    a = {k: ri.attributes[k] for k in ri.attributes}

    def val(key, kind=str):
        v = a[key]
        return v.astype(kind) if hasattr(v, "astype") else kind(v)

    assert (val("NuHepMC.Version.Major", int), val("NuHepMC.Version.Minor", int)) == (1, 0)  # G.R.2
    assert ri.tools[0].name == "d2oflux" and ri.tools[0].version  # G.R.3
    conventions = val("NuHepMC.Conventions").split()
    assert "G.C.2" in conventions  # G.R.4, G.R.5
    assert val("NuHepMC.FluxAveragedTotalCrossSection", float) > 0
    assert val("NuHepMC.Units.CrossSection.Unit") == "pb"  # G.R.6
    assert val("NuHepMC.Units.CrossSection.TargetScale")
    assert list(ri.weight_names) == ["CV"]  # G.R.7
    ids = [int(x) for x in val("NuHepMC.ProcessIDs").split()]  # G.R.8
    for i in ids:
        assert val(f"NuHepMC.ProcessInfo[{i}].Name") and val(f"NuHepMC.ProcessInfo[{i}].Description")
    assert {int(x) for x in val("NuHepMC.ParticleStatusIDs").split()} == {1, 4, 20}  # G.R.10, G.S.2
    assert "1" in val("NuHepMC.VertexStatusIDs").split()  # G.R.9
    for code in val("NuHepMC.AdditionalParticleNumbers").split():  # G.R.11
        assert val(f"NuHepMC.AdditionalParticleNumber[{code}].Name")
    numbers = set()
    for ev in events:
        assert ev.momentum_unit == pyhepmc.Units.MEV and ev.length_unit == pyhepmc.Units.CM  # E.R.4
        assert ev.event_number >= 0 and ev.event_number not in numbers  # E.R.2
        numbers.add(ev.event_number)
        e = ev.attributes
        assert int(e["signal_process_id"].astype(int)) in ids  # E.R.3
        assert len(e["lab_pos"].astype(str).split()) == 3  # E.R.5
        assert float(e["proc_xs"].astype(float)) <= float(e["tot_xs"].astype(float)) * (1 + 1e-12)  # E.C.2/3
        assert [v.status for v in ev.vertices] == [1]  # E.R.6
        status = [p.status for p in ev.particles]
        assert status.count(4) == 1 and status.count(20) == 1  # E.R.7
        assert all(s in (1, 4, 20) for s in status) and status.count(1) >= 2
        assert len(ev.weights) == 1


def test_exposure_mode_counts_and_metadata(tmp_path):
    exposure = Exposure.from_years(FAC, 0.5)
    out = tmp_path / "year.parquet"
    summary = generate(DET, SRC, exposure, seed=9, output=out, progress=False)
    ev = read_events(out)
    assert ev["event_id"].size == summary["total"]
    for label, n in summary["events"].items():
        assert np.count_nonzero(ev["channel"] == label) == n
        assert summary["expected"][label] > 0
    assert "cevns_O" not in summary["events"]  # the rate engine's default: the module does not see recoils
    assert np.all(ev["weight"] == 1.0)
    assert ev["run"]["exposure"]["pot"] == pytest.approx(exposure.pot)
    # ~277 CC events in half a year (rate engine), Poisson
    mu = summary["expected"]["nue_d_cc"]
    assert abs(summary["events"]["nue_d_cc"] - mu) < 4 * math.sqrt(mu)


# ------------------------------------------------------------------------------------------------
# bad input: one-line ConfigError naming the field, nothing written
# ------------------------------------------------------------------------------------------------
def test_bad_inputs_raise_before_writing(tmp_path):
    cases = [
        (dict(n_events=10, channels=["nue_dcc"]), "unknown channel 'nue_dcc'.*did you mean 'nue_d_cc'"),
        (dict(n_events=10, channels=["nue_o16_cc@h3o"]), "unknown region 'h3o'"),
        (dict(n_events=0), "-n/--count: expected a positive integer"),
        (dict(n_events=-5), "-n/--count: expected a positive integer"),
        (dict(n_events=2.5), "-n/--count: expected a positive integer"),
        (dict(n_events=10, seed=-1), "--seed"),
        (dict(n_events=10, output="events.csv"), "unknown suffix '.csv'"),
        (dict(n_events=10, output="nope/events.parquet"), "folder .* does not exist"),
        (dict(n_events=None), "give an exposure"),
        (dict(n_events=10, chunk_size=0), "chunk_size"),
        (dict(n_events=10, channels=""), "--channels"),
    ]
    for kwargs, match in cases:
        args = dict(channels=["nue_d_cc"], seed=1, output="events.parquet") | kwargs
        args["output"] = tmp_path / args["output"]
        with pytest.raises(ConfigError, match=match) as exc:
            generate(DET, SRC, None, progress=False, **args)
        assert "\n" not in str(exc.value)
    # a channel that exists but has no flavour to drive it
    with pytest.raises(ConfigError, match="nuebar_d_cc.*no interactions"):
        generate(DET, Source(FAC), None, n_events=5, channels=["nuebar_d_cc"], seed=1, output=tmp_path / "x.root")
    assert files(tmp_path) == []


def test_missing_geometry(tmp_path):
    # drop the geometry line whatever its numbers (issue 8 resized the d2o-1t cylinder to hold 1000 kg)
    text = "".join(
        line for line in load_detector("d2o-1t").toml_text.splitlines(keepends=True) if not line.startswith("geometry")
    )
    p = tmp_path / "nogeom.toml"
    p.write_text(text)
    det = load_detector(p)
    with pytest.raises(ConfigError, match="region 'd2o' has no geometry; expected a 'geometry' key"):
        generate(det, SRC, None, n_events=5, seed=1, output=tmp_path / "x.hepmc3")
    assert files(tmp_path) == ["nogeom.toml"]


@pytest.mark.parametrize("fmt", ["parquet", "root", "hepmc3"])
def test_failure_mid_run_leaves_nothing(tmp_path, monkeypatch, fmt):
    from d2oflux.generate import events

    real = events.ChunkSampler.chunk
    calls = []

    def flaky(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(self, *a, **k)

    monkeypatch.setattr(events.ChunkSampler, "chunk", flaky)
    with pytest.raises(RuntimeError, match="disk on fire"):
        generate(
            DET,
            SRC,
            None,
            n_events=100,
            channels=["nue_d_cc"],
            seed=1,
            output=tmp_path / f"x.{fmt}",
            chunk_size=40,
            progress=False,
        )
    assert files(tmp_path) == []


# ------------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------------
def run_cli(*args):
    """``d2oflux generate ...`` through d2oflux.cli.main once registered, else a local typer app."""
    from d2oflux import cli

    if any(getattr(cmd, "name", None) == "generate" for cmd in cli.app.registered_commands):
        return cli.main(["generate", *args])
    app = typer.Typer(add_completion=False)
    app.command("generate")(generate_command)
    app.command("noop")(lambda: None)
    try:
        app(["generate", *args], standalone_mode=False)
    except ConfigError as exc:
        print(f"d2oflux: error: {exc}", file=sys.stderr)
        return 2
    return 0


def test_cli_generates_and_reports(tmp_path, capsys):
    out = tmp_path / "cli.parquet"
    code = run_cli("--seed", "3", "-o", str(out), "-n", "50", "--channels", "nue_d_cc,es_nue")
    assert code == 0
    err = capsys.readouterr().err
    assert f"wrote {out}: 50 events" in err and "nue_d_cc" in err  # -n is the total
    ev = read_events(out)
    assert sorted(set(ev["channel"])) == ["es_nue", "nue_d_cc"]
    out2 = tmp_path / "cli2.root"
    assert run_cli("--seed", "3", "-o", str(out2), "--years", "0.1", "--no-mu-minus-dar", "-d", "d2o-1t") == 0
    assert "anti_nu_e" not in json.dumps(read_events(out2)["run"]["fluence_per_cm2"])
    flux = tmp_path / "flux.csv"
    flux.write_text("E_MeV,nu_mu,nu_e,anti_nu_mu\n0,0,0,0\n20,1,1,1\n40,1,1,1\n60,0,0,0\n")
    out3 = tmp_path / "cli3.hepmc3"
    assert (
        run_cli(
            "--seed",
            "3",
            "-o",
            str(out3),
            "-n",
            "20",
            "--channels",
            "nue_d_cc",
            "--flux-file",
            str(flux),
            "--no-mu-minus-dar",
        )
        == 0
    )
    ev = read_events(out3)
    assert ev["run"]["flux_file"] == str(flux) and ev["nu_energy_MeV"].max() < 60


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["-n", "0"], "-n/--count"),
        (["--years", "0"], "--years"),
        (["--years", "-1"], "--years"),
        (["--years", "1", "-n", "5"], "only one of"),
        ([], "--years or a fixed count"),
        (["-n", "5", "--channels", "nue_d_cc,bogus"], "unknown channel 'bogus'"),
        (["-n", "5", "-d", "d2o-modul1"], "did you mean 'd2o-module1'"),
    ],
)
def test_cli_errors(tmp_path, capsys, args, match):
    import re

    code = run_cli("--seed", "1", "-o", str(tmp_path / "x.parquet"), *args)
    err = capsys.readouterr().err
    assert code == 2
    assert re.search(match, err) and err.count("\n") == 1
    assert files(tmp_path) == []


@pytest.mark.slow
def test_memory_flat_in_event_count(tmp_path):
    """Peak memory with 1e6-event chunks does not grow with the number of events (2e6 vs 8e6)."""
    code = (
        "import resource, sys\n"
        "from d2oflux.detector import load_detector\n"
        "from d2oflux.source import Source, load_facility\n"
        "from d2oflux.generate import generate\n"
        "generate(load_detector('d2o-module1'), Source(load_facility()), None, n_events=int(sys.argv[1]),"
        " channels=['nue_d_cc'], seed=1, output=sys.argv[2], progress=False)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    peaks = []
    for n in (2_000_000, 8_000_000):
        out = subprocess.run(
            [sys.executable, "-c", code, str(n), str(tmp_path / f"m{n}.parquet")],
            capture_output=True,
            text=True,
            check=True,
        )
        peaks.append(int(out.stdout.split()[-1]))
    assert peaks[1] < 1.15 * peaks[0]
