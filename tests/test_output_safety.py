"""Nothing lost, ever: outputs are whole or absent, the user's files survive, interruptions leave nothing.

The command line runs in subprocesses (signals) or through :func:`d2oflux.cli.main` (errors, which are
decided before any work). Interruptions: the run is paused in the middle of its write (a ``python -c`` wrapper
around the command line, which writes a marker file there), and the signal is sent during that pause.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from d2oflux.cli import main
from d2oflux.detector import VISIBLE_PARTICLES, load_detector
from d2oflux.errors import ConfigError
from d2oflux.generate import read_events
from d2oflux.outputs import LOCK_NAME, MANIFEST_NAME, TEMP_PREFIX, atomic_file, atomic_folder, sweep_temporaries
from d2oflux.rates import expect
from d2oflux.source import Exposure, Source, load_facility

SRC_DIR = str(Path(__file__).resolve().parents[1] / "src")
USER_TEXT = "my notes, not d2oflux's\n"


def names(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("d2oflux: error:"), err
    assert "Traceback" not in err
    return lines[0]


# ------------------------------------------------------------------------------------------------
# the user's files survive
# ------------------------------------------------------------------------------------------------
def test_report_refuses_folder_with_user_files(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text(USER_TEXT)
    assert main(["report", "-o", str(folder)]) == 2
    assert "not a d2oflux report" in one_error_line(capsys)
    assert names(folder) == ["notes.txt"] and (folder / "notes.txt").read_text() == USER_TEXT
    plain = tmp_path / "file.txt"
    plain.write_text(USER_TEXT)
    assert main(["report", "-o", str(plain)]) == 2
    assert "is a file" in one_error_line(capsys)
    assert plain.read_text() == USER_TEXT
    assert names(tmp_path) == ["file.txt", "mine"]


@pytest.mark.parametrize("suffix", ["parquet", "root", "hepmc3"])
def test_generate_never_replaces_a_user_file(tmp_path, capsys, suffix):
    user = tmp_path / f"events.{suffix}"
    user.write_text(USER_TEXT)
    assert main(["generate", "--seed", "1", "-n", "20", "-o", str(user)]) == 2
    assert "not written by d2oflux" in one_error_line(capsys)
    assert user.read_text() == USER_TEXT and names(tmp_path) == [user.name]


def test_generate_replaces_its_own_file_and_workspace_refuses_user_json(tmp_path, capsys):
    out = tmp_path / "ev.parquet"
    assert main(["generate", "--seed", "1", "-n", "30", "--channels", "nue_d_cc", "-o", str(out)]) == 0
    assert main(["generate", "--seed", "2", "-n", "40", "--channels", "nue_d_cc", "-o", str(out)]) == 0
    assert read_events(out)["event_id"].size == 40 and names(tmp_path) == ["ev.parquet"]
    user = tmp_path / "ws.json"
    user.write_text('{"mine": true}')
    capsys.readouterr()
    assert main(["workspace", "-o", str(user)]) == 2
    assert "not written by d2oflux" in one_error_line(capsys)
    assert user.read_text() == '{"mine": true}'


def test_report_folder_replaces_only_its_manifest_files(tmp_path):
    """The folder logic of ``report -o`` (atomic_folder) on a new folder, then on its own report."""
    out = tmp_path / "rep"
    with atomic_folder(out) as stage:
        (stage / "a.txt").write_text("a1")
        (stage / "old.txt").write_text("o1")
    assert names(out) == [MANIFEST_NAME, "a.txt", "old.txt"]
    assert json.loads((out / MANIFEST_NAME).read_text())["files"] == ["a.txt", "old.txt"]
    (out / "notes.txt").write_text(USER_TEXT)  # the user adds a file next to the report
    with atomic_folder(out) as stage:
        (stage / "a.txt").write_text("a2")
        (stage / "b.txt").write_text("b2")
    assert names(out) == [MANIFEST_NAME, "a.txt", "b.txt", "notes.txt"]  # old.txt was ours: removed
    assert (out / "a.txt").read_text() == "a2" and (out / "notes.txt").read_text() == USER_TEXT
    assert json.loads((out / MANIFEST_NAME).read_text())["files"] == ["a.txt", "b.txt"]
    # a new file whose name the user already uses: refused, nothing changed
    with pytest.raises(ConfigError, match="'notes.txt' exists and was not written by d2oflux"):
        with atomic_folder(out) as stage:
            (stage / "a.txt").write_text("a3")
            (stage / "notes.txt").write_text("x")
    assert (out / "a.txt").read_text() == "a2" and (out / "notes.txt").read_text() == USER_TEXT
    assert names(out) == [MANIFEST_NAME, "a.txt", "b.txt", "notes.txt"]
    assert names(tmp_path) == ["rep"]


def test_report_written_before_manifests_is_recognised(tmp_path):
    from d2oflux.report import _pre_manifest_report

    out = tmp_path / "old-report"
    out.mkdir()
    (out / "summary.json").write_text('{"software": {"name": "d2oflux", "version": "0.1.0"}}')
    (out / "fig1_source.png").write_text("old figure")
    (out / "fig1_mine.png").write_text(USER_TEXT)  # not a name d2oflux 0.1.0 wrote: the user's
    with atomic_folder(out, legacy=_pre_manifest_report) as stage:
        (stage / "summary.json").write_text("{}")
        (stage / "report.html").write_text("<html></html>")
    assert names(out) == [MANIFEST_NAME, "fig1_mine.png", "report.html", "summary.json"]
    assert (out / "fig1_mine.png").read_text() == USER_TEXT


def test_failure_while_filling_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_folder(tmp_path / "rep") as stage:
            (stage / "a.txt").write_text("half")
            raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        with atomic_file(tmp_path / "x.json") as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert names(tmp_path) == []


# ------------------------------------------------------------------------------------------------
# unclean cases: one line, exit status 2, nothing written
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["toys", "--seed", "-1", "--ntoys", "10"], r"--seed: expected an integer in \[0, 2\^63\)"),
        (["toys", "--seed", str(2**63), "--ntoys", "10"], r"--seed: expected an integer in \[0, 2\^63\)"),
        (["report", "--seed", "-1", "-o", "{tmp}/r"], r"--seed"),
        (["generate", "--seed", "-1", "-n", "5", "-o", "{tmp}/x.parquet"], r"--seed"),
        (["generate", "--seed", "1", "-n", "1e12", "-o", "{tmp}/x.parquet"], r"1e\+12 events \(~180 TB of parquet\)"),
        (["generate", "--seed", "1", "--years", "1e7", "-o", "{tmp}/x.root"], r"--years: .* events .*--allow-large"),
        (["generate", "--seed", "1", "-n", "2.5", "-o", "{tmp}/x.root"], r"-n/--count: expected a positive integer"),
        (["toys", "--ntoys", "1e10"], r"--ntoys: 1e\+10 toys .*--allow-large"),
        (["generate", "--seed", "1", "-n", "5", "-o", "{tmp}"], r"is a folder"),
        (["generate", "--seed", "1", "-n", "5", "-o", "{tmp}/nope/x.hepmc3"], r"folder .* does not exist"),
        (["workspace", "-o", "{tmp}"], r"expected a file name|is a folder"),
        (["report", "-o", "{tmp}/nope/rep"], r"folder .* does not exist"),
        (["generate", "--seed", "abc", "-n", "5", "-o", "{tmp}/x.root"], r"--seed"),  # typer: one line too
    ],
)
def test_unclean_cases_are_one_line_errors(tmp_path, capsys, args, match):
    (tmp_path / "keep.txt").write_text(USER_TEXT)
    assert main([a.format(tmp=tmp_path) for a in args]) == 2
    assert re.search(match, one_error_line(capsys))
    assert names(tmp_path) == ["keep.txt"]


def test_report_into_current_folder(tmp_path, capsys, monkeypatch):
    (tmp_path / "keep.txt").write_text(USER_TEXT)
    monkeypatch.chdir(tmp_path)
    assert main(["report", "-o", "."]) == 2
    assert "not a d2oflux report" in one_error_line(capsys)
    assert names(tmp_path) == ["keep.txt"]


@contextlib.contextmanager
def read_only(folder: Path):
    """Make ``folder`` unwritable: chmod 555, and for root (who ignores modes) the immutable attribute."""
    folder.chmod(0o555)
    immutable = os.geteuid() == 0
    if immutable and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        folder.chmod(0o755)
        pytest.skip("running as root without chattr: cannot make a read-only folder")
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


@pytest.mark.skipif(shutil.which("chattr") is None and os.geteuid() == 0, reason="root needs chattr")
def test_read_only_folder(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    with read_only(ro):
        assert main(["generate", "--seed", "1", "-n", "5", "-o", str(ro / "x.parquet")]) == 2
        assert "not writable" in one_error_line(capsys)
        assert main(["workspace", "-o", str(ro / "ws.json")]) == 2
        assert "not writable" in one_error_line(capsys)
        assert main(["report", "-o", str(ro / "rep")]) == 2
        assert "not writable" in one_error_line(capsys)
    assert names(ro) == []


# ------------------------------------------------------------------------------------------------
# lock file and leftovers of killed runs
# ------------------------------------------------------------------------------------------------
def test_lock_blocks_a_second_writer_and_stale_lock_is_taken_over(tmp_path, capsys):
    out = tmp_path / "ws.json"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / LOCK_NAME).write_text(f"{sleeper.pid}\n")
        assert main(["workspace", "-o", str(out)]) == 2
        assert f"another d2oflux (PID {sleeper.pid}) is writing" in one_error_line(capsys)
        assert names(tmp_path) == [LOCK_NAME]
    finally:
        sleeper.kill()
        sleeper.wait()
    (tmp_path / LOCK_NAME).write_text(f"{dead_pid()}\n")
    assert main(["workspace", "-o", str(out)]) == 0
    assert names(tmp_path) == ["ws.d2oflux.json", "ws.json"]  # stale lock taken over, then released


def test_sweep_removes_only_dead_runs_temporaries(tmp_path):
    dead, alive = dead_pid(), os.getppid()
    (tmp_path / f"{TEMP_PREFIX}{dead}-0a1b2c3d-ev.parquet").write_text("partial")
    (tmp_path / f"{TEMP_PREFIX}{dead}-0a1b2c3e-rep").mkdir()
    (tmp_path / f"{TEMP_PREFIX}{alive}-0a1b2c3f-ev.root").write_text("being written")
    (tmp_path / ".ev.parquet.x7.tmp").write_text("not ours to judge")
    sweep_temporaries(tmp_path)
    assert names(tmp_path) == sorted([".ev.parquet.x7.tmp", f"{TEMP_PREFIX}{alive}-0a1b2c3f-ev.root"])


# ------------------------------------------------------------------------------------------------
# signals in the middle of a run
# ------------------------------------------------------------------------------------------------
#: events per interrupted run: one chunk (up to 1e6 events), written into the temporary file whose writer the
#: pause keeps open (no parquet footer, ROOT directory or HepMC3 end of listing yet); HepMC3 writes ~7000 events/s
GENERATE_BIG = {"parquet": 100_000, "root": 100_000, "hepmc3": 5_000}
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -signal.SIGKILL}


def interrupt_paused(program, args, folder: Path, marker: Path, signum, check_paused) -> subprocess.CompletedProcess:
    """Run ``python -c program marker ARGS`` in ``folder``; once it writes ``marker`` (and pauses there), call
    ``check_paused(marker_text)``, send ``signum`` and return the run."""
    env = dict(os.environ, PYTHONPATH=SRC_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-c", program, str(marker), *map(str, args)]
    proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        t0 = time.monotonic()
        while not marker.is_file() or not marker.read_text():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() - t0 < 600, "the run did not reach its pause within 10 minutes"
            time.sleep(0.05)
        check_paused(marker.read_text())
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def check_interrupted(result, folder: Path, final: str, signum) -> None:
    assert result.returncode == EXIT[signum], result.stderr
    if signum == signal.SIGKILL:  # no chance to clean up: the next run does
        left = names(folder)
        assert final not in left and any(n.startswith(TEMP_PREFIX) for n in left)
        nxt = str(folder / "next.parquet")
        assert main(["generate", "--seed", "1", "-n", "20", "--channels", "nue_d_cc", "-o", nxt]) == 0
        assert names(folder) == ["next.parquet"]
    else:
        assert "Traceback" not in result.stderr
        assert names(folder) == []


#: ``python -c`` program: ``d2oflux ARGS`` (argv[2:]) whose event writer, once it has written its first chunk
#: into the temporary file (the writer still open, not yet finished), writes argv[1] and waits there (up to
#: 10 min). The test's signal thus lands in the middle of the write, whatever the machine's
#: load (sending it 0.3 s after the temporary file appeared raced the end of the run).
PAUSE_AFTER_FIRST_CHUNK = """
import sys, time
from pathlib import Path
from d2oflux.cli import main
from d2oflux.generate import writers

def paused(write):
    def write_then_pause(self, chunk):
        write(self, chunk)
        Path(sys.argv[1]).write_text("first chunk written")
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            time.sleep(0.05)
    return write_then_pause

for cls in (writers.ParquetEventWriter, writers.RootEventWriter, writers.HepMC3EventWriter):
    cls.write = paused(cls.write)
sys.exit(main(sys.argv[2:]))
"""


#: one signal per format in the default selection, the other six combinations with -m slow
FAST_SIGNALS = {("parquet", signal.SIGINT), ("root", signal.SIGTERM), ("hepmc3", signal.SIGKILL)}


@pytest.mark.parametrize(
    ("fmt", "signum"),
    [
        pytest.param(fmt, sig, marks=() if (fmt, sig) in FAST_SIGNALS else pytest.mark.slow, id=f"{fmt}-{sig.name}")
        for fmt in ("parquet", "root", "hepmc3")
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
    ],
)
def test_signal_during_generate(tmp_path, fmt, signum):
    folder = tmp_path / "work"
    folder.mkdir()
    final = f"ev.{fmt}"
    args = ("generate", "--seed", "1", "-n", GENERATE_BIG[fmt], "--channels", "nue_d_cc", "-o", final)

    def mid_write(_):  # the first chunk is in the open temporary file, nothing is in place yet
        left = names(folder)
        assert final not in left and any(n.startswith(TEMP_PREFIX) for n in left), left

    result = interrupt_paused(PAUSE_AFTER_FIRST_CHUNK, args, folder, tmp_path / "written", signum, mid_write)
    check_interrupted(result, folder, final, signum)


#: ``python -c`` program: ``d2oflux ARGS`` (argv[2:]) whose report -o, once every file is staged in its temporary
#: folder, writes the staging folder's path into the file argv[1] and waits there (up to 10 min) before moving
#: anything into place. The test's signal thus lands in the middle of the write, whatever the machine's load
#: (sending it after the temporary folder appeared and a fixed sleep raced the end of the run).
PAUSE_BEFORE_COMMIT = """
import contextlib, sys, time
from pathlib import Path
from d2oflux import outputs
from d2oflux.cli import main

atomic_folder = outputs.atomic_folder

@contextlib.contextmanager
def paused_atomic_folder(*args, **kwargs):
    with atomic_folder(*args, **kwargs) as stage:
        yield stage
        Path(sys.argv[1]).write_text(str(stage))
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            time.sleep(0.05)

outputs.atomic_folder = paused_atomic_folder
sys.exit(main(sys.argv[2:]))
"""


def interrupt_staged_report(args, folder: Path, marker: Path, signum) -> subprocess.CompletedProcess:
    """Run ``d2oflux ARGS`` in ``folder``, send ``signum`` once its report is staged, return the run."""

    def staged(text: str) -> None:  # the signal lands mid-write: the complete report is staged, nothing in place
        stage = folder / text  # relative to the run's folder, or absolute
        assert stage.name.startswith(TEMP_PREFIX) and {"report.html", "summary.json"} <= set(names(stage))

    return interrupt_paused(PAUSE_BEFORE_COMMIT, args, folder, marker, signum, staged)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_signal_during_report(tmp_path, signum):
    # without the optical model and the COHERENT releases (a missing --data-dir: no download), to be quick
    folder = tmp_path / "work"
    folder.mkdir()
    args = ("report", "--no-optics", "--data-dir", "no-releases", "-o", "rep")
    result = interrupt_staged_report(args, folder, tmp_path / "staged", signum)
    check_interrupted(result, folder, "rep", signum)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_signal_during_report_keeps_the_earlier_report(tmp_path, signum):
    folder = tmp_path / "work"
    (folder / "rep").mkdir(parents=True)
    with atomic_folder(folder / "rep") as stage:  # an earlier report: a page and the manifest
        (stage / "report.html").write_text("<html>earlier</html>")
    before = {n: (folder / "rep" / n).read_bytes() for n in names(folder / "rep")}
    args = ("report", "--no-optics", "--data-dir", "no-releases", "-o", "rep")
    result = interrupt_staged_report(args, folder, tmp_path / "staged", signum)
    assert result.returncode == EXIT[signum], result.stderr
    assert "Traceback" not in result.stderr
    assert names(folder) == ["rep"]
    assert {n: (folder / "rep" / n).read_bytes() for n in names(folder / "rep")} == before


# ------------------------------------------------------------------------------------------------
# permissions follow the umask
# ------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def test_umask_022_gives_0644_and_0755(tmp_path):
    with umask(0o022):
        args = ["generate", "--seed", "1", "-n", "10", "--channels", "nue_d_cc", "-o", str(tmp_path / "e.root")]
        assert main(args) == 0
        assert main(["workspace", "-o", str(tmp_path / "ws.json")]) == 0
        with atomic_folder(tmp_path / "rep") as stage:
            (stage / "report.html").write_text("<html></html>")
    for name in ("e.root", "ws.json", "rep/report.html", f"rep/{MANIFEST_NAME}"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
    assert stat.S_IMODE((tmp_path / "rep").stat().st_mode) == 0o755
    with umask(0o077):
        assert main(["workspace", "-o", str(tmp_path / "ws.json")]) == 0
    assert stat.S_IMODE((tmp_path / "ws.json").stat().st_mode) == 0o600


# ------------------------------------------------------------------------------------------------
# -n is the total; the weights are events per SNS-year
# ------------------------------------------------------------------------------------------------
def test_n_is_total_and_weights_sum_to_events_per_sns_year(tmp_path, capsys):
    out = tmp_path / "ev.parquet"
    assert main(["generate", "--seed", "4", "-n", "5000", "-o", str(out)]) == 0
    ev = read_events(out)
    assert ev["event_id"].size == 5000
    # second method: the rate engine's expected interactions for one SNS-year, summed over the default channels
    fac = load_facility("sns-fts")
    det = load_detector("d2o-module1")
    res = expect(
        det,
        Source(fac, include_mu_minus_dar=True),
        Exposure.from_years(fac, 1.0),
        response=det.make_response(visible_particles=VISIBLE_PARTICLES),
    )
    channels = sorted(set(ev["channel"]))
    assert "cevns_O" not in channels
    mu = {c: res.channels[c].interactions for c in channels}
    assert float(np.sum(ev["weight"])) == pytest.approx(sum(mu.values()), rel=1e-9)
    quota = {c: 5000 * mu[c] / sum(mu.values()) for c in channels}
    # largest-remainder rounding: within one event of the quota, except that every channel gets at least one
    # (taken from the largest channel)
    tolerance = 1 + sum(q < 1 for q in quota.values())
    for c in channels:  # each channel: its weights sum to its rate, its share of events follows the rate
        sel = ev["channel"] == c
        assert float(np.sum(ev["weight"][sel])) == pytest.approx(mu[c], rel=1e-9)
        assert np.count_nonzero(sel) >= 1 and abs(np.count_nonzero(sel) - quota[c]) < tolerance
    args = ["generate", "--seed", "4", "-n", "100", "--per-channel", "--channels", "nue_d_cc,es_nue", "-o", str(out)]
    assert main(args) == 0
    ev = read_events(out)
    assert ev["event_id"].size == 200
    assert float(np.sum(ev["weight"])) == pytest.approx(mu["nue_d_cc"] + mu["es_nue"], rel=1e-9)
