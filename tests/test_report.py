"""The report, read like a reader would: in headless Chromium, and number by number against the CLI."""

import html
import itertools
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib.patches import StepPatch

from _coherent_data import COHERENT_DIR, needs_releases
from d2oflux import plots
from d2oflux.cli import main
from d2oflux.errors import ConfigError
from d2oflux.report import (
    CEVNS_XSEC_FIGURES,
    FIGURES,
    OPTICS_FIGURES,
    REFERENCES,
    _facility_beam,
    cevns_xsec_study,
    cross_section_curves,
    fmt,
    make_report,
)
from d2oflux.source import load_facility

YEARS = [0.5, 1, 2, 3, 5]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HAVE_RELEASES = (COHERENT_DIR / "csi2021").is_dir() and (COHERENT_DIR / "lar2020").is_dir()


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    # one report with every section: the optical model at reduced statistics (built into a temporary cache,
    # ~15 s) and the COHERENT releases from <repo>/../shared/data/coherent (never the network: without them,
    # an empty folder stands in and the section explains how to get them)
    out = tmp_path_factory.mktemp("rep") / "d2oflux-report"
    data = COHERENT_DIR if HAVE_RELEASES else tmp_path_factory.mktemp("no-releases")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("D2OFLUX_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        make_report("d2o-module1", YEARS, out, ntoys=200, progress=False, optics_statistics="fast", data_dir=data)
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
    figures = json.loads((report_dir / "summary.json").read_text())["figures"]
    assert set(FIGURES) - set(CEVNS_XSEC_FIGURES if not HAVE_RELEASES else ()) == set(figures)
    for fig in figures:
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
        widths = {}
        figures = json.loads((report_dir / "summary.json").read_text())["figures"]
        for width in (1280, 390):  # a laptop and a phone (iPhone 12-15 CSS width)
            page = browser.new_page(viewport={"width": width, "height": 844})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(Path(report_dir / "report.html").as_uri())
            page.wait_for_load_state("load")
            images = page.evaluate(
                "Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0,"
                " i.getBoundingClientRect().right])"
            )
            widths[width] = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            page.close()
            assert sorted(src for src, _, _ in images) == sorted(f"{f}.png" for f in figures)
            assert all(ok for _, ok, _ in images), images
            assert all(right <= width for _, _, right in images), (width, images)  # images scale down
        browser.close()
    assert errors == [] and failed == []
    for width, (scroll, client) in widths.items():
        assert scroll <= client == width, f"page scrolls sideways at {width} px: {scroll} > {client}"


def test_bad_output_folder(tmp_path, capsys):
    assert main(["report", "-o", str(tmp_path / "no" / "such" / "dir")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_headline_first_with_references(report_dir):
    page = (report_dir / "report.html").read_text()
    summary = json.loads((report_dir / "summary.json").read_text())
    assert "name='viewport'" in page
    assert page.index("id='answer'") < page.index("<h2")  # the answer before any section
    assert page.index("id='sensitivity'") < page.index("id='assumptions'") < page.index("id='events'")
    labels = [r["label"] for r in summary["references"]]
    assert any("arXiv:2104.09605" in r["source"] for r in summary["references"])
    for r in summary["references"]:
        assert set(r) >= {"label", "years", "relative_uncertainty", "source"}
    for label in labels:
        assert html.escape(label) in page
    assert "arXiv:2109.11049" in page  # today's 10 %


def test_every_assumption_in_page(report_dir):
    page = (report_dir / "report.html").read_text()
    summary = json.loads((report_dir / "summary.json").read_text())
    parser = Cells()
    parser.feed(page)
    keys = {key for key, _, _ in parser.cells}
    rows = summary["assumptions"]
    names = {r["name"] for r in rows}
    # the detector file's background, systematics, response and window numbers are all there
    assert len(rows) >= 20
    for i, row in enumerate(rows):
        assert html.escape(str(row["name"])) in page
        assert html.escape(str(row["source"])) in page and html.escape(str(row["unit"])) in page
        v = row["value"]
        if isinstance(v, bool) or v is None or isinstance(v, str):
            assert html.escape(str(v)) in page
        elif isinstance(v, list):
            assert all(f"assumptions.{i}.value.{k}" in keys for k in range(len(v))), row
        else:
            assert f"assumptions.{i}.value" in keys, row
    assert names  # (values are checked against summary.json by test_page_numbers_equal_summary)


def test_no_citation_of_files_users_lack(report_dir):
    page = (report_dir / "report.html").read_text()
    for caption in FIGURES.values():
        assert "PHYSICS.md" not in caption and "DESIGN.md" not in caption
    # (the detector file shown in full at the end is the user's own text)
    assert "PHYSICS.md" not in page.split("<details>")[0]


def test_tables_have_headers_and_scroll(report_dir):
    page = (report_dir / "report.html").read_text()
    tables = re.findall(r"<div class='scroll'><table[^>]*>(.*?)</table></div>", page, re.S)
    assert len(tables) == page.count("<table")  # every table is in a scroll container
    assert all(t.startswith("<thead><tr><th") for t in tables)
    validation = page[page.index("id='validation'") :]
    assert "<th scope='col'>expected</th>" in validation


def test_channel_table_signal_first_grouped(report_dir):
    page = (report_dir / "report.html").read_text()
    table = page[page.index("id='events'") :]
    table = table[: table.index("</table>")]
    groups = re.findall(r"<tr class='group'><th[^>]*>([^<]*)</th>", table)
    assert groups[0] == "signal" and groups[-1] == "non-neutrino backgrounds"
    assert groups.index("reactions on 16O") < groups.index("neutrino-electron elastic scattering")
    first_row = re.search(r"data-key=\"rates_per_sns_year\.channels\.([^.\"]+)\.", table)
    assert first_row.group(1) == "nue_d_cc"
    assert "@" not in table  # per-region numbers are in their own table beneath


def test_exposure_text_uses_the_facility():
    from d2oflux.report import _html

    fac = load_facility("sns-sts")
    summary = {
        "software": {"version": "x"},
        "date_utc": "now",
        "seed": 1,
        "configuration": {
            "detector": "d",
            "detector_toml": "",
            "facility": fac.name,
            "mu_minus_dar": True,
            "o16_model": "kolbe",
            "facility_beam": _facility_beam(fac),
        },
        "rates_per_sns_year": {
            "exposure": {"pot": fac.pot_per_year, "years": 1.0},
            "flux_per_flavour_cm2": {},
            "channels": {},
        },
        "events_in_window_per_sns_year": {},
        "sensitivity": {"years": [1.0, 2.0], "stat_only": [0.04, 0.03], "total": [0.06, 0.05]},
        "references": [dict(r) for r in REFERENCES],
        "assumptions": [],
        "impacts": {"pot": 0.01},
        "propagation": {},
        "toys": {
            "ntoys": 1,
            "seed": 1,
            "years": 1.0,
            **{
                k: 0.0
                for k in (
                    "pull_mean",
                    "pull_mean_error",
                    "pull_width",
                    "pull_width_error",
                    "coverage_68",
                    "coverage_68_error",
                )
            },
        },
    }
    text = re.sub(r"<[^>]+>", "", _html(summary))
    assert "5000 h at 0.7 MW and 1.3 GeV" in text
    assert "1.4 MW" not in text and "1.0 GeV" not in text


def test_plots_select_no_backend():
    code = "import matplotlib; matplotlib.use('pdf'); import d2oflux.plots; print(matplotlib.get_backend())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "pdf"


def test_one_style_per_reaction():
    styles = [(s.colour, s.hatch, s.linestyle) for s in plots.CHANNEL_STYLE.values()]
    assert len(plots.CHANNEL_STYLE) == 13 and len(set(styles)) == 13
    assert len({s.colour for s in plots.CHANNEL_STYLE.values()} - set(plots.PETROFF10)) == 0
    # the signal's colour is used by no other reaction
    signal = plots.CHANNEL_STYLE["nue_d_cc"].colour
    assert [k for k, s in plots.CHANNEL_STYLE.items() if s.colour == signal] == ["nue_d_cc"]
    # reactions sharing a colour differ in hatch and line style
    for a, sa in plots.CHANNEL_STYLE.items():
        for b, sb in plots.CHANNEL_STYLE.items():
            if a < b and sa.colour == sb.colour:
                assert sa.hatch != sb.hatch and sa.linestyle != sb.linestyle, (a, b)


def test_energy_stack_draws_nothing_below_threshold():
    edges = np.arange(0.0, 62.5, 2.5)
    flat = np.ones(edges.size - 1)
    fig = plots.energy_stack_figure(edges, {"nue_d_cc": flat, "steady_state": flat}, (10.0, 55.0), 5.0)
    steps = [p for p in fig.axes[0].patches if isinstance(p, StepPatch)]
    assert steps
    for p in steps:
        values, e, baseline = p.get_data()
        height = values - (baseline if baseline is not None else 0)
        assert np.all(height[e[1:] <= 5.0] == 0)
        assert np.all(values[e[1:] <= 5.0] == 0)


def test_impacts_sorted_with_others():
    impacts = {"a": 0.001, "b": 0.03, "c": 0.02, "d": 1e-5, "e": 0.0014}
    shown, others = plots.group_impacts(impacts, 0.05)
    assert list(shown) == ["b", "c"] and set(others) == {"a", "d", "e"}
    fig = plots.impacts_figure(impacts, 5.0)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[-1].startswith("3 others")  # bottom bar (barh draws upwards)
    assert len(fig.axes[0].patches) == 3


def test_propagation_legend_states_the_facilitys_flux_uncertainty():
    from d2oflux.analysis.propagation import Propagation

    # sns-sts: 20 % today (its preset), not the 10 % of the first target station
    today = load_facility("sns-sts").nu_per_proton_rel_uncertainty
    rows = [Propagation("csi", 19.3, 14.6, 400.0, 300.0, today, 0.03)]
    texts = [t.get_text() for t in plots.propagation_figure(rows).axes[0].get_legend().get_texts()]
    assert "flux uncertainty today (20 %)" in texts


def test_nakazato_curve_smooth():
    curves = {c.label: c for c in cross_section_curves()}
    cv = next(c for label, c in curves.items() if "Nakazato" in label)
    ok = cv.sigma_cm2 > 0
    logs = np.log10(cv.sigma_cm2[ok])
    # finely sampled: no step between neighbouring points larger than 0.05 decades above 1e-44 cm^2
    visible = logs[1:] > -44
    assert np.max(np.abs(np.diff(logs))[visible]) < 0.05


def test_sensitivity_curves_found_by_shape():
    sens = {
        "years": [1.0, 2.0, 3.0],
        "total": [0.06, 0.05, 0.045],
        "stat_signal_only": [0.03, 0.02, 0.017],
        "stat_only": [0.04, 0.03, 0.024],
        "extra_curve": [0.035, 0.025, 0.02],
        "references": [{"label": "x"}, {"label": "y"}, {"label": "z"}],  # three entries, but no curve
        "systematics_profile": "nominal",
    }
    assert plots.per_exposure_keys(sens) == ["total", "stat_only", "stat_signal_only", "extra_curve"]
    fig = plots.sensitivity_figure(sens, 0.1, REFERENCES)
    assert len(fig.axes[0].get_legend().get_texts()) == 4 + 1 + len(REFERENCES)


def keys_in_page(report_dir) -> set[str]:
    parser = Cells()
    parser.feed((report_dir / "report.html").read_text())
    return {key for key, _, _ in parser.cells}


@needs_releases
def test_cevns_xsec_section(report_dir):
    # the fits to the public CsI and LAr data, in the page (values checked against summary.json by
    # test_page_numbers_equal_summary) and against two independent expectations
    summary = json.loads((report_dir / "summary.json").read_text())
    x = summary["cevns_xsec_propagation"]
    assert x["available"] and x["years"] == [1.0, 2.0, 5.0]
    keys = keys_in_page(report_dir)
    page = (report_dir / "report.html").read_text()
    assert "id='cevns-xsec'" in page and "fig8_cevns_xsec.png" in page
    assert page.index("id='cevns-xsec'") < page.index("fig7_propagation.png")  # the data-set fits come first
    for i in range(len(x["rows"])):
        for k in ("flux_uncertainty", "cevns_xsec", "cevns_xsec_uncertainty"):
            assert f"cevns_xsec_propagation.rows.{i}.{k}" in keys
    sens = summary["sensitivity"]
    for d in x["datasets"]:
        rows = {r["flux_constraint"]: r for r in x["rows"] if r["dataset"] == d}
        today, exact = rows["today (10 % prior)"], rows["flux known exactly"]
        d2o = [r for r in rows.values() if r["years"] is not None]
        u = [today, *sorted(d2o, key=lambda r: r["years"]), exact]
        assert all(a["cevns_xsec_uncertainty"] > b["cevns_xsec_uncertainty"] for a, b in itertools.pairwise(u))
        for r in [today, *d2o]:
            # the flux is degenerate with the cross section: Gaussian error propagation adds the flux error in
            # quadrature to the data's own (flux fixed); 2 % covers the non-linearity of the Poisson fits
            expected = np.hypot(exact["cevns_xsec_uncertainty"], r["cevns_xsec"] * r["flux_uncertainty"])
            assert r["cevns_xsec_uncertainty"] == pytest.approx(expected, rel=0.02), (d, r["flux_constraint"])
            if r["years"] in sens["years"]:
                # the D2O term constrains the flux as the report's own sensitivity fit does (second method;
                # 1 %: the joint fit shares the POT nuisance with the CEvNS data set)
                i = sens["years"].index(r["years"])
                assert r["flux_uncertainty"] == pytest.approx(sens["total"][i], rel=0.01)
    headline = page[page.index("id='answer'") : page.index("</section>")]
    assert "cevns_xsec_propagation.rows" in headline


def test_cevns_xsec_without_releases_explains(tmp_path, report_dir):
    from d2oflux.report import _html

    part, rows = cevns_xsec_study("d2o-module1", tmp_path, progress=False)  # an empty folder: no network
    assert rows == [] and part["available"] is False
    assert "--data-dir" in part["reason"] and "D2OFLUX_DATA_DIR" in part["reason"]
    summary = json.loads((report_dir / "summary.json").read_text())
    summary["cevns_xsec_propagation"] = part
    page = _html(summary)
    section = page[page.index("id='cevns-xsec'") :]
    section = section[: section.index("<h3", 10)]
    assert html.escape(part["reason"]) in section and "fig8_cevns_xsec" not in page
    assert "cevns_xsec_propagation" not in page[page.index("id='answer'") : page.index("</section>")]


def test_optics_section(report_dir):
    summary = json.loads((report_dir / "summary.json").read_text())
    o = summary["optics"]
    assert o["included"] and o["statistics"] == "fast" and o["n_pmts"] == 12
    # the module's derived light yield, 7.05 PE/MeV at full statistics (README, d2oflux optics); the fast build
    # (40 electrons per energy, sigma/E ~0.34) carries ~2 % Monte Carlo error: 8 % is 4 sigma
    assert o["light_yield_pe_per_MeV"] == pytest.approx(7.05, rel=0.08)
    a = o["analysis_response"]
    assert a["model"] == "analytic" and a["light_yield_pe_per_MeV"] == 15.0
    # the analytic resolution sqrt(1/(Y E) + c^2) at 30 MeV for Y = 15 PE/MeV, c = 0.05 (hand computation)
    assert a["resolution_at_30MeV"] == pytest.approx(np.sqrt(1 / 450 + 0.0025), rel=1e-12)
    m = o["michel"]
    assert m["events_simulated"] == 3000 and m["seed"] == summary["seed"]
    # Michel closure: the fitted light yield returns the derived one (measured 1.037 here; 10 % allows the
    # statistical errors of both and the one-Gaussian approximation of the position-dependent response)
    assert m["fitted_over_derived_light_yield"] == pytest.approx(1.0, abs=0.10)
    assert m["energy_scale_uncertainty"] == pytest.approx(m["light_yield_pe_per_MeV"]["error"] /
                                                          m["light_yield_pe_per_MeV"]["value"], rel=1e-12)  # fmt: skip
    assert 0 <= m["p_value"] <= 1 and m["assumed_energy_scale_uncertainty"] == 0.02
    keys = keys_in_page(report_dir)
    for k in (
        "optics.light_yield_pe_per_MeV",
        "optics.analysis_response.light_yield_pe_per_MeV",
        "optics.michel.light_yield_pe_per_MeV.value",
        "optics.michel.light_yield_pe_per_MeV.error",
        "optics.michel.p_value",
        "optics.michel.energy_scale_uncertainty",
        "optics.michel.fitted_over_derived_light_yield",
    ):
        assert k in keys, k
    page = (report_dir / "report.html").read_text()
    assert "Reduced statistics" in page
    for f in OPTICS_FIGURES:
        assert f"{f}.png" in page


def test_optics_statistics_checked(tmp_path):
    with pytest.raises(ConfigError, match="optics_statistics"):
        make_report("d2o-module1", [1], tmp_path / "r", optics_statistics="quick", progress=False)
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_report_without_optics_or_releases(tmp_path, capsys):
    # the command line: --no-optics and a --data-dir without the releases; the report still completes
    out = tmp_path / "r"
    code = main(["report", "--no-optics", "--data-dir", str(tmp_path), "--years", "1", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["optics"]["included"] is False and summary["cevns_xsec_propagation"]["available"] is False
    assert not set(summary["figures"]) & set(OPTICS_FIGURES + CEVNS_XSEC_FIGURES)
    page = (out / "report.html").read_text()
    assert "--no-optics" in page and "could not be read" in page
    assert not list(out.glob("fig8*")) and not list(out.glob("fig9*"))


def test_optics_section_says_when_it_shows_the_default_design_not_this_detector():
    """d2o-1t (1000 kg of D2O) has no [optics] section: its report's optical section is the default module
    design (596 kg vessel), and must say so; the module itself (592 kg) gets no such note."""
    from d2oflux.detector import load_detector
    from d2oflux.report import _optics_section, optics_study

    part, _, _ = optics_study(load_detector("d2o-1t"), seed=1, statistics="fast")
    assert part["optics_source"] == "default"
    assert "not this detector's 1000 kg" in part["geometry_note"]
    assert "<b>Note:</b> Detector &#x27;d2o-1t&#x27; has no [optics] section" in _optics_section({"optics": part})
    module, _, _ = optics_study(load_detector("d2o-module1"), seed=1, statistics="fast")
    assert "geometry_note" not in module
