"""Regenerate the example event file shipped with d2oflux (pseudo-data from the model, seeded).

Usage: python scripts/make_example_events.py
Writes src/d2oflux/data/examples/events_d2o-module1_1y_seed1.csv: d2o-module1 at the SNS First Target Station,
1 SNS-year, mu- DAR included, Kolbe 16O model, nominal parameters, seed 1.
"""

from pathlib import Path

from d2oflux.analysis.events import sample_events, write_events_csv
from d2oflux.analysis.model import build_model
from d2oflux.detector import load_detector
from d2oflux.source import Exposure, Source, load_facility

SEED = 1
OUT = Path(__file__).resolve().parents[1] / "src/d2oflux/data/examples/events_d2o-module1_1y_seed1.csv"

if __name__ == "__main__":
    fac = load_facility("sns-fts")
    model = build_model(load_detector("d2o-module1"), Source(fac, True), Exposure.from_years(fac, 1.0))
    events = sample_events(model, SEED)
    header = (
        "Example pseudo-data for d2oflux fit, made from the model with scripts/make_example_events.py\n"
        f"detector d2o-module1, facility sns-fts, 1 SNS-year, nominal parameters (flux_norm = 1), seed {SEED}\n"
        "energy_MeV: reconstructed energy; time_ns: time since POT (on) or since the off-beam window start (off)"
    )
    write_events_csv(events, OUT, header)
    print(f"wrote {OUT}: {len(events['window'])} events")
