"""No-physics-change check: record reference outputs, then compare them after a refactoring.

A restructuring that changes no physics must reproduce every number of the commands below to 1e-12
relative (floating-point summation order is the only allowed difference) and the generated events
exactly (same seed, same events).

Usage (from the repository, with d2oflux installed or ``PYTHONPATH=src``)::

    python scripts/no_physics_change.py record /tmp/before      # on the untouched branch
    # ... refactor ...
    python scripts/no_physics_change.py record /tmp/after
    python scripts/no_physics_change.py compare /tmp/before /tmp/after

``record PREFIX`` writes ``PREFIX_rates.json``, ``PREFIX_rates2.json``, ``PREFIX_sens.json``,
``PREFIX_toys.json``, ``PREFIX_fit.json`` and ``PREFIX_gen.parquet`` (about a minute). ``compare``
prints the largest relative difference per file and exits 1 if one exceeds ``--rtol`` (default 1e-12)
or the events differ.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

#: name -> d2oflux arguments whose stdout is the JSON output
JSON_COMMANDS: dict[str, list[str]] = {
    "rates": ["rates", "--json"],
    "rates2": ["rates", "--detector", "d2o-1t", "--o16-model", "nakazato", "--json"],
    "sens": ["sensitivity", "--years", "1,2", "--json"],
    "toys": ["toys", "--years", "1", "--ntoys", "200", "--seed", "7", "--json"],
    "fit": ["fit", "--events", "example", "--years", "1", "--json"],
}
GENERATE = ["generate", "--detector", "d2o-module1", "-n", "2000", "--seed", "3", "-o"]


def record(prefix: str) -> None:
    """Run every command and write its output next to ``prefix``."""
    for name, args in JSON_COMMANDS.items():
        out = subprocess.run(["d2oflux", *args], check=True, capture_output=True, text=True).stdout
        Path(f"{prefix}_{name}.json").write_text(out)
    gen = Path(f"{prefix}_gen.parquet")
    gen.unlink(missing_ok=True)
    subprocess.run(["d2oflux", *GENERATE, str(gen)], check=True, capture_output=True)


def _rel(a: float, b: float) -> float:
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


def json_difference(a, b, path: str = "") -> tuple[float, str]:
    """Largest relative difference between two JSON values and where it is (``inf`` for a structural one)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return math.inf, f"{path}: keys differ ({sorted(set(a) ^ set(b))})"
        return max((json_difference(a[k], b[k], f"{path}.{k}") for k in a), default=(0.0, path))
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return math.inf, f"{path}: lengths {len(a)} != {len(b)}"
        return max(
            (json_difference(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b, strict=True))),
            default=(0.0, path),
        )
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return (0.0, path) if a == b else (math.inf, f"{path}: {a!r} != {b!r}")
    return _rel(float(a), float(b)), path


def parquet_difference(a: Path, b: Path) -> str | None:
    """``None`` if the two event files hold the same columns and values, else what differs."""
    import pyarrow.parquet as pq

    ta, tb = pq.read_table(a), pq.read_table(b)
    if ta.schema.names != tb.schema.names:
        return f"columns differ: {ta.schema.names} != {tb.schema.names}"
    for name in ta.schema.names:
        if not ta.column(name).equals(tb.column(name)):
            return f"column {name} differs"
    if ta.schema.metadata != tb.schema.metadata:
        return "file metadata differ"
    return None


def compare(before: str, after: str, rtol: float) -> bool:
    ok = True
    worst = 0.0
    for name in JSON_COMMANDS:
        a = json.loads(Path(f"{before}_{name}.json").read_text())
        b = json.loads(Path(f"{after}_{name}.json").read_text())
        diff, where = json_difference(a, b)
        worst = max(worst, diff)
        status = "ok" if diff <= rtol else "DIFFERENT"
        ok &= diff <= rtol
        at = f" at {where}" if diff else ""
        print(f"{name + '.json':<14} largest relative difference {diff:.3g}{at}: {status}")
    problem = parquet_difference(Path(f"{before}_gen.parquet"), Path(f"{after}_gen.parquet"))
    print(f"{'gen.parquet':<14} {'identical content' if problem is None else problem}")
    ok &= problem is None
    print(f"largest relative difference over all JSON outputs: {worst:.3g} (tolerance {rtol:g})")
    return ok


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record", help="run the commands, write PREFIX_*.json and PREFIX_gen.parquet")
    r.add_argument("prefix")
    c = sub.add_parser("compare", help="compare two recorded prefixes")
    c.add_argument("before")
    c.add_argument("after")
    c.add_argument("--rtol", type=float, default=1e-12)
    args = p.parse_args()
    if args.cmd == "record":
        record(args.prefix)
    else:
        sys.exit(0 if compare(args.before, args.after, args.rtol) else 1)


if __name__ == "__main__":
    main()
