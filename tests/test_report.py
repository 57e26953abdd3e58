"""The report, read like a reader would: in headless Chromium, and number by number against the CLI."""

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from d2oflux.cli import main
from d2oflux.report import FIGURES, fmt, make_report

YEARS = [0.5, 1, 2, 3, 5]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "d2oflux-report"
    make_report("d2o-module1", YEARS, out, ntoys=200, progress=False)
    return out


class Cells(HTMLParser):
    """Collect (data-key, data-value, shown text) of every element carrying a number."""

    def __init__(self):
        super().__init__()
        self.cells, self._open = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-key" in a:
            self._open = [a["data-key"], a["data-value"], ""]

    def handle_data(self, data):
        if self._open is not None:
            self._open[2] += data

    def handle_endtag(self, tag):
        if self._open is not None:
            self.cells.append(tuple(self._open))
            self._open = None


def lookup(obj, key):
    for part in key.split("."):
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


def test_files_whole(report_dir):
    names = {p.name for p in report_dir.iterdir()}
    for fig in FIGURES:
        assert f"{fig}.png" in names and f"{fig}.pdf" in names
    assert {"report.html", "summary.json"} <= names
    assert not any(p.name.startswith(".") for p in report_dir.parent.iterdir())  # no temporary folders left


def test_page_numbers_equal_summary(report_dir):
    summary = json.loads((report_dir / "summary.json").read_text())
    parser = Cells()
    parser.feed((report_dir / "report.html").read_text())
    assert len(parser.cells) > 40
    for key, value, shown in parser.cells:
        exact = lookup(summary, key)
        assert float(value) == pytest.approx(float(exact), rel=1e-15), key
        if key != "seed":
            pct = shown.strip().endswith("%")
            assert shown.strip() == (fmt(100 * float(exact)) + " %" if pct else fmt(float(exact))), key


def test_summary_equals_cli_outputs(report_dir, capsys):
    summary = json.loads((report_dir / "summary.json").read_text())
    assert main(["rates", "--detector", "d2o-module1", "--years", "1", "--json"]) == 0
    rates = json.loads(capsys.readouterr().out)
    assert rates == summary["rates_per_sns_year"]
    assert main(["sensitivity", "--detector", "d2o-module1", "--years", ",".join(map(str, YEARS)), "--json"]) == 0
    sens = json.loads(capsys.readouterr().out)
    for k in ("years", "stat_only", "total"):
        assert sens[k] == pytest.approx(summary["sensitivity"][k], rel=1e-12)
    assert sens["impacts"] == pytest.approx(summary["impacts"], rel=1e-12)
    assert sens["events"] == pytest.approx(summary["events_in_window_per_sns_year"], rel=1e-12)
    assert sens["propagation"] == summary["propagation"]


def test_states_version_config_and_seed(report_dir):
    html = (report_dir / "report.html").read_text()
    summary = json.loads((report_dir / "summary.json").read_text())
    assert summary["software"]["version"] in html
    assert 'name = "d2o-module1"' in html  # the detector TOML in full
    assert str(summary["seed"]) in html


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed (scripts/test.sh installs it)")
def test_renders_in_headless_chromium(report_dir):
    sync_api = pytest.importorskip("playwright.sync_api")
    errors, failed = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
        )
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto(Path(report_dir / "report.html").as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate(
            "Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])"
        )
        browser.close()
    assert len(images) == len(FIGURES)
    assert all(ok for _, ok in images), images
    assert errors == [] and failed == []


def test_bad_output_folder(tmp_path, capsys):
    assert main(["report", "-o", str(tmp_path / "no" / "such" / "dir")]) == 2
    assert "does not exist" in capsys.readouterr().err
