"""The scan report: which design, where, how long.

From a store written by ``d2oflux scan`` this draws

* ``sensitivity_vs_parameters.png``: for each scanned parameter, the best (and the median) total relative flux
  uncertainty over all other parameters, per exposure;
* ``map_<a>__<b>.png``: for each pair of parameters, the best total uncertainty at the exposure T over the
  others (a grid), or every point coloured by it (random / Latin-hypercube samples);
* ``pareto.png``: total uncertainty after T years against the cost proxies (D2O mass, and the PMT count when
  the detectors have one), with the Pareto front (no other design is both cheaper and more precise);
* ``time_to_target.png``: the shortest time to reach each target precision (5 %, 3 %, 2 % by default)
  against the D2O mass, with all systematics and statistics only;

and writes ``scan-report.md`` and ``answer.json``: the fastest design for each target and the Pareto front.
Times come from the exact exposure dependence of the Asimov uncertainty (see :mod:`d2oflux.scan.evaluate`),
not from interpolation; "never" means the systematic floor is above the target.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ..errors import ConfigError
from .store import ScanStore

COST_COLUMNS = {"d2o_mass_kg": "D$_2$O mass [kg]", "pmt_count": "PMT count"}


class ScanTable:
    """The store's rows as numpy columns, with the scanned parameters as plottable axes."""

    def __init__(self, store: ScanStore):
        table = store.read()
        self.parameters: list[str] = list(store.manifest["parameters"])
        self.columns = {name: table.column(name).to_pylist() for name in table.column_names}
        self.n = table.num_rows
        self.years = np.asarray(self.columns["years"], float)
        self.exposures = sorted(set(self.years.tolist()))
        self.targets = sorted(
            {c.removeprefix("years_to_").removesuffix("pct_total") for c in self.columns if c.endswith("pct_total")},
            key=float,
            reverse=True,
        )

    def numeric(self, name: str) -> np.ndarray:
        return np.asarray([math.nan if v is None else v for v in self.columns[name]], float)

    def axis(self, name: str) -> tuple[np.ndarray, list[str] | None]:
        """Values of a parameter for plotting: numbers, or category indices with their labels."""
        raw = self.columns[name]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw):
            return np.asarray(raw, float), None
        labels = [label(v) for v in raw]
        cats = sorted(set(labels), key=lambda s: [raw[labels.index(s)]])
        return np.asarray([cats.index(s) for s in labels], float), cats


def label(value) -> str:
    if isinstance(value, list):
        return "-".join(f"{v:g}" for v in value)
    return str(value)


def make_scan_report(
    store_path: str | Path, out_dir: str | Path, *, years: float | None = None, option: str = "-o"
) -> dict:
    """Draw the figures and write ``scan-report.md`` and ``answer.json`` into ``out_dir``; return the answer.

    ``option`` names ``out_dir`` in error messages (``-o`` of scan-report, ``--report`` of scan).
    """
    store = ScanStore.open(store_path)
    data = ScanTable(store)
    T = years if years is not None else max(data.exposures)
    if not any(math.isclose(T, y) for y in data.exposures):
        raise ConfigError(f"--years {T}: not a scanned exposure; the store has {', '.join(map(str, data.exposures))}")
    from ..outputs import atomic_folder, check_output_folder

    check_output_folder(out_dir, option)  # before any work: new, empty, or an earlier scan report
    figures = {
        "sensitivity_vs_parameters.png": plot_sensitivity_vs_parameters(data),
        "pareto.png": plot_pareto(data, T),
        "time_to_target.png": plot_time_to_target(data),
    }
    for a, b in itertools.combinations(data.parameters, 2):
        figures[f"map_{_slug(a)}__{_slug(b)}.png"] = plot_map(data, a, b, T)
    answer = build_answer(store, data, T)
    # the folder appears whole, or an earlier scan report has exactly its own files replaced (manifest)
    with atomic_folder(out_dir, option) as out:
        for name, fig in figures.items():
            _save(fig, out / name)
        (out / "scan-report.md").write_text(answer_markdown(answer, list(figures)), encoding="utf-8")
        answer = strict_json(answer)
        (out / "answer.json").write_text(json.dumps(answer, indent=1, allow_nan=False), encoding="utf-8")
    return answer


def strict_json(obj):
    """Replace NaN and infinities (not JSON) by None: a time of None means the target is never reached."""
    if isinstance(obj, dict):
        return {k: strict_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [strict_json(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# ------------------------------------------------------------------------------------------------
# The answer
# ------------------------------------------------------------------------------------------------
def build_answer(store: ScanStore, data: ScanTable, T: float) -> dict:
    """Fastest design per target, the Pareto front at T, and the best precision at every exposure."""
    at_T = np.isclose(data.years, T)
    total = data.numeric("total")
    fastest = {}
    for t in data.targets:
        tt = data.numeric(f"years_to_{t}pct_total")
        ts = data.numeric(f"years_to_{t}pct_stat")
        entry: dict = {"target_percent": float(t)}
        if np.isfinite(tt[at_T]).any():
            i = np.nonzero(at_T)[0][np.nanargmin(np.where(np.isfinite(tt[at_T]), tt[at_T], np.inf))]
            entry.update({"years_total": float(tt[i]), "design": _design(data, i)})
        else:
            entry.update({"years_total": math.inf, "design": None})
        j = np.nonzero(at_T)[0][int(np.nanargmin(ts[at_T]))]
        entry.update({"years_stat_only": float(ts[j]), "design_stat_only": _design(data, j)})
        fastest[t] = entry
    best = {}
    for y in data.exposures:
        sel = np.nonzero(np.isclose(data.years, y))[0]
        i = sel[int(np.nanargmin(total[sel]))]
        best[f"{y:g}"] = {
            "total": float(total[i]),
            "stat_only": float(data.numeric("stat_only")[i]),
            **_design(data, i),
        }
    i_best = np.nonzero(at_T)[0][int(np.nanargmin(total[at_T]))]
    impacts = {
        c.removeprefix("impact."): float(data.numeric(c)[i_best]) for c in data.columns if c.startswith("impact.")
    }
    impacts = dict(sorted(((k, v) for k, v in impacts.items() if np.isfinite(v)), key=lambda kv: -kv[1])[:6])
    floor = float(data.numeric("systematic_floor")[i_best]) if "systematic_floor" in data.columns else math.nan
    fronts = {}
    for cost in COST_COLUMNS:
        if cost not in data.columns:
            continue
        c = data.numeric(cost)
        idx = np.nonzero(at_T & np.isfinite(c))[0]
        if idx.size:
            front = pareto_front(c[idx], total[idx])
            fronts[cost] = [{"total": float(total[idx[k]]), **_design(data, idx[k])} for k in front]
    return {
        "spec": store.manifest.get("spec_label"),
        "spec_hash": store.manifest.get("spec_hash"),
        "configurations": len(set(data.columns["config_hash"])),
        "exposures_years": data.exposures,
        "pareto_years": T,
        "fastest": fastest,
        "best_per_exposure": best,
        "best_at_pareto_years": {"impacts": impacts, "systematic_floor": floor},
        "pareto_front": fronts,
    }


def pareto_front(cost: np.ndarray, value: np.ndarray) -> list[int]:
    """Indices of the points no other point beats in both (lower cost and lower value), by increasing cost."""
    order = np.lexsort((value, cost))
    front, best = [], math.inf
    for k in order:
        if value[k] < best:
            front.append(int(k))
            best = value[k]
    return front


def _design(data: ScanTable, i: int) -> dict:
    d = {p: data.columns[p][i] for p in data.parameters}
    for extra in ("d2o_mass_kg", "total_mass_kg", "pmt_count", "config_hash"):
        if extra in data.columns:
            d[extra] = data.columns[extra][i]
    return d


def answer_markdown(answer: dict, figures: list[str]) -> str:
    """The answer as a short Markdown page."""
    lines = [
        f"# Scan '{answer['spec']}' ({answer['spec_hash']}): which design, where, how long",
        "",
        f"{answer['configurations']} configurations, exposures {', '.join(f'{y:g}' for y in answer['exposures_years'])}"
        " SNS-years. Relative flux-normalisation uncertainty from the Asimov likelihood.",
        "",
        "## Fastest design per target precision",
        "",
        "| target | years (all systematics) | design | years (stat only) |",
        "|---|---|---|---|",
    ]
    for t, e in answer["fastest"].items():
        years = (
            "never (systematic floor above the target)"
            if not math.isfinite(e["years_total"])
            else f"{e['years_total']:.3g}"
        )
        design = _design_text(e["design"]) if e["design"] else "-"
        lines.append(f"| {t} % | {years} | {design} | {e['years_stat_only']:.3g} |")
    lines += [
        "",
        "## Best precision per exposure",
        "",
        "| SNS-years | total | stat only | design |",
        "|---|---|---|---|",
    ]
    for y, e in answer["best_per_exposure"].items():
        lines.append(f"| {y} | {100 * e['total']:.2f} % | {100 * e['stat_only']:.2f} % | {_design_text(e)} |")
    b = answer["best_at_pareto_years"]
    lines += [
        "",
        f"Largest impacts on the best design at {answer['pareto_years']:g} SNS-years (quadrature difference): "
        + ", ".join(f"{k} {100 * v:.2f} %" for k, v in b["impacts"].items())
        + f"; its systematic floor (unlimited exposure) is {100 * b['systematic_floor']:.2f} %.",
    ]
    for cost, front in answer["pareto_front"].items():
        lines += ["", f"## Pareto front at {answer['pareto_years']:g} SNS-years: total uncertainty vs {cost}", ""]
        lines += ["| total | design |", "|---|---|"]
        lines += [f"| {100 * e['total']:.2f} % | {_design_text(e)} |" for e in front]
    lines += ["", "## Figures", "", *[f"![{f}]({f})" for f in figures], ""]
    return "\n".join(lines)


def _design_text(d: dict) -> str:
    skip = {"config_hash", "total", "stat_only"}
    if any(k.startswith("regions.") and k.endswith(".mass_kg") for k in d):
        skip.add("d2o_mass_kg")
    parts = []
    for k, v in d.items():
        if k in skip or (isinstance(v, float) and math.isnan(v)):
            continue
        parts.append(f"{k} = {label(v) if isinstance(v, list) else (f'{v:.4g}' if isinstance(v, float) else v)}")
    return ", ".join(parts)


# ------------------------------------------------------------------------------------------------
# Figures
# ------------------------------------------------------------------------------------------------
def plot_sensitivity_vs_parameters(data: ScanTable):
    """Best and median total uncertainty vs each parameter, one line per exposure."""
    n = len(data.parameters)
    ncol = min(n, 2)
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(6.5 * ncol, 4.5 * nrow), squeeze=False)
    total = data.numeric("total")
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(data.exposures)))
    for ax, p in zip(axes.flat, data.parameters, strict=False):
        x, cats = data.axis(p)
        for colour, y in zip(colours, data.exposures, strict=True):
            sel = np.isclose(data.years, y)
            xs = np.unique(x[sel])
            best = [np.nanmin(total[sel & (x == v)]) for v in xs]
            med = [np.nanmedian(total[sel & (x == v)]) for v in xs]
            if xs.size > 30:  # continuous samples: show the points
                ax.plot(x[sel], 100 * total[sel], ".", color=colour, ms=2, alpha=0.4)
                continue
            ax.plot(xs, 100 * np.asarray(best), "o-", color=colour, label=f"{y:g} y best")
            ax.plot(xs, 100 * np.asarray(med), "--", color=colour, alpha=0.7)
        ax.set_xlabel(p)
        ax.set_ylabel("flux uncertainty [%]")
        if cats:
            ax.set_xticks(range(len(cats)), cats, rotation=20)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8, title="solid: best, dashed: median", title_fontsize=8)
    fig.suptitle("Total relative flux uncertainty (Asimov) vs each scanned parameter")
    fig.tight_layout()
    return fig


def plot_map(data: ScanTable, a: str, b: str, T: float):
    """Best total uncertainty at T over the other parameters on the (a, b) plane."""
    sel = np.isclose(data.years, T)
    xa, ca = data.axis(a)
    xb, cb = data.axis(b)
    total = 100 * data.numeric("total")
    fig, ax = plt.subplots(figsize=(7, 5.5))
    ua, ub = np.unique(xa[sel]), np.unique(xb[sel])
    if ua.size <= 30 and ub.size <= 30:
        grid = np.full((ub.size, ua.size), np.nan)
        for i, vb in enumerate(ub):
            for j, va in enumerate(ua):
                m = sel & (xa == va) & (xb == vb)
                if m.any():
                    grid[i, j] = np.nanmin(total[m])
        mesh = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis_r")
        for i, j in itertools.product(range(ub.size), range(ua.size)):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center", fontsize=7, color="k")
        ax.set_xticks(range(ua.size), ca if ca else [f"{v:.3g}" for v in ua], rotation=30, fontsize=8)
        ax.set_yticks(range(ub.size), cb if cb else [f"{v:.3g}" for v in ub], fontsize=8)
        title = f"best total uncertainty [%] after {T:g} SNS-years (min over the other parameters)"
    else:
        mesh = ax.scatter(xa[sel], xb[sel], c=total[sel], s=8, cmap="viridis_r")
        title = f"total uncertainty [%] after {T:g} SNS-years, every sample"
    fig.colorbar(mesh, ax=ax, label="flux uncertainty [%]")
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_pareto(data: ScanTable, T: float):
    """Total uncertainty after T years vs each available cost proxy, with the Pareto front."""
    costs = [c for c in COST_COLUMNS if c in data.columns and np.isfinite(data.numeric(c)).any()]
    fig, axes = plt.subplots(1, len(costs), figsize=(7 * len(costs), 5), squeeze=False)
    sel = np.isclose(data.years, T)
    total = 100 * data.numeric("total")
    stat = 100 * data.numeric("stat_only")
    for ax, cost in zip(axes.flat, costs, strict=True):
        c = data.numeric(cost)
        idx = np.nonzero(sel & np.isfinite(c))[0]
        ax.plot(c[idx], total[idx], ".", color="0.6", ms=4, label="all designs (total)")
        front = idx[pareto_front(c[idx], total[idx])]
        ax.plot(c[front], total[front], "o-", color="C3", label="Pareto front (total)")
        sfront = idx[pareto_front(c[idx], stat[idx])]
        ax.plot(c[sfront], stat[sfront], "s--", color="C0", ms=4, label="Pareto front (stat only)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_ticks(ax)
        ax.set_xlabel(COST_COLUMNS[cost])
        ax.set_ylabel(f"flux uncertainty after {T:g} SNS-years [%]")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=9)
    fig.suptitle("Precision against cost")
    fig.tight_layout()
    return fig


def plot_time_to_target(data: ScanTable):
    """Shortest time to each target precision vs D2O mass (min over the other parameters)."""
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    first = np.isclose(data.years, min(data.exposures))  # the times repeat on every exposure row
    mass = data.numeric("d2o_mass_kg")
    masses = np.unique(mass[first])
    many = masses.size > 30
    never: list[str] = []
    for k, t in enumerate(data.targets):
        for kind, style in (("total", "o-"), ("stat", "s--")):
            years = data.numeric(f"years_to_{t}pct_{kind}")
            if many:
                ok = first & np.isfinite(years)
                ax.plot(mass[ok], years[ok], "." if kind == "total" else "x", color=f"C{k}", ms=3, alpha=0.5)
                continue
            best = np.array([np.nanmin(np.where(first & (mass == m), years, np.inf)) for m in masses])
            ok = np.isfinite(best)
            text = "all systematics" if kind == "total" else "stat only"
            if not ok.any():
                never.append(f"{t} % ({text})")
                continue
            ax.plot(masses[ok], best[ok], style, color=f"C{k}", label=f"{t} % ({text})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_ticks(ax)
    ax.set_xlabel(COST_COLUMNS["d2o_mass_kg"])
    ax.set_ylabel("SNS-years to reach the target")
    ax.set_title("Fastest time to a flux precision (best over the other parameters)", fontsize=11)
    if never:
        note = "never reached: " + ", ".join(never)
        ax.text(0.98, 0.97, note, transform=ax.transAxes, ha="right", va="top", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def _plain_ticks(ax) -> None:
    """Log axes labelled 1, 2, 3, 5, 10, ... rather than 10^0, 2x10^0."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
        axis.set_major_formatter(FormatStrFormatter("%g"))
        axis.set_minor_formatter(NullFormatter())


def _slug(path: str) -> str:
    return path.replace(".", "_")


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
