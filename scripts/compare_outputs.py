"""Record the ``--json`` outputs of a fixed set of d2oflux commands, or compare two recordings number by number.

A restructuring that changes no physics must leave every number of these outputs unchanged::

    python scripts/compare_outputs.py record before/      # on the untouched branch
    python scripts/compare_outputs.py record after/       # after the change
    python scripts/compare_outputs.py compare before/ after/ --rtol 1e-12

``compare`` walks both JSON documents together; every number must agree to ``--rtol`` (relative to the larger
magnitude; exact zeros must stay zero), every string, boolean and key must be identical. It prints the largest
relative difference per command and exits with status 1 if any exceeds the tolerance or the structure differs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

#: The reference commands: file stem -> arguments after ``d2oflux``.
COMMANDS: dict[str, list[str]] = {
    "rates": ["rates", "--json"],
    "rates_1t_nakazato": ["rates", "--detector", "d2o-1t", "--o16-model", "nakazato", "--json"],
    "sensitivity": ["sensitivity", "--years", "1,2", "--json"],
    "toys": ["toys", "--years", "1", "--ntoys", "200", "--seed", "7", "--json"],
    "fit": ["fit", "--events", "example", "--years", "1", "--json"],
}


def record(folder: Path, extra: dict[str, list[str]] | None = None) -> None:
    """Run every command of :data:`COMMANDS` (plus ``extra`` arguments per stem) and write ``<stem>.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem, args in COMMANDS.items():
        args = args + (extra or {}).get(stem, [])
        out = subprocess.run([sys.executable, "-m", "d2oflux.cli", *args], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"d2oflux {' '.join(args)} failed ({out.returncode}): {out.stderr.strip()}")
        (folder / f"{stem}.json").write_text(out.stdout, encoding="utf-8")
        print(f"recorded {folder / stem}.json", file=sys.stderr)


def largest_difference(a, b, where: str = "$") -> tuple[float, str]:
    """Largest relative difference between two JSON values and where it is; ``inf`` if the structure differs."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return float("inf"), f"{where}: keys differ ({sorted(set(a) ^ set(b))})"
        pairs = [largest_difference(a[k], b[k], f"{where}.{k}") for k in a]
        return max(pairs, default=(0.0, where), key=lambda p: p[0])
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return float("inf"), f"{where}: lengths {len(a)} and {len(b)}"
        return max(
            (largest_difference(x, y, f"{where}[{i}]") for i, (x, y) in enumerate(zip(a, b, strict=True))),
            default=(0.0, where),
            key=lambda p: p[0],
        )
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        scale = max(abs(a), abs(b))
        return (0.0 if scale == 0 else abs(a - b) / scale), where
    return (0.0, where) if a == b else (float("inf"), f"{where}: {a!r} != {b!r}")


def compare(before: Path, after: Path, rtol: float) -> bool:
    """Print the largest relative difference per recorded command; True if all are within ``rtol``."""
    ok = True
    for stem in COMMANDS:
        a = json.loads((before / f"{stem}.json").read_text(encoding="utf-8"))
        b = json.loads((after / f"{stem}.json").read_text(encoding="utf-8"))
        diff, where = largest_difference(a, b)
        good = diff <= rtol
        ok &= good
        print(f"{stem:<20} largest relative difference {diff:.3e} at {where}  {'ok' if good else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    rec = sub.add_parser("record", help="run the reference commands and write their JSON into FOLDER")
    rec.add_argument("folder", type=Path)
    cmp_ = sub.add_parser("compare", help="compare two recordings number by number")
    cmp_.add_argument("before", type=Path)
    cmp_.add_argument("after", type=Path)
    cmp_.add_argument("--rtol", type=float, default=1e-12, help="largest accepted relative difference")
    args = parser.parse_args()
    if args.action == "record":
        record(args.folder)
        return 0
    return 0 if compare(args.before, args.after, args.rtol) else 1


if __name__ == "__main__":
    sys.exit(main())
