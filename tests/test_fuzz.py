"""Property-based fuzzing of the presets: any single mutation of a detector or facility file must give
either exit 0 with finite numbers (strict JSON) or exit 2 with one line ``d2oflux: error: ...``.

Mutations: a key removed; a value replaced by a value of a random type; a number replaced by an extreme
or non-finite one. The CLI runs in-process (``d2oflux.cli.main``). CI runs a short version; the long one
is marked slow.
"""

from __future__ import annotations

import json
import math
import tempfile
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from d2oflux.cli import main
from d2oflux.config import preset_names

PRESETS = [("detectors", n) for n in preset_names("detectors")] + [
    ("facilities", n) for n in preset_names("facilities")
]
EXTREMES = [0.0, -1.0, 1e-300, -1e-300, 1e308, -1e308, math.nan, math.inf, -math.inf, 1e30, 1e-30, 2**63]
RANDOM_VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), max_size=4),
    st.just({}),
    st.just({"x": 1}),
)


def preset_data(kind: str, name: str) -> dict:
    text = (resources.files("d2oflux") / "presets" / kind / f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def leaf_paths(obj, prefix=()) -> list[tuple]:
    """Every path to a value (dict keys and list indices), containers included."""
    out = []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        out.append((*prefix, k))
        out.extend(leaf_paths(v, (*prefix, k)))
    return out


def to_toml(data: dict) -> str:
    """TOML text for ``data`` (top-level ``key = value`` lines, nested values inline)."""

    def lit(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list | tuple):
            return "[" + ", ".join(lit(x) for x in v) + "]"
        return "{" + ", ".join(f"{json.dumps(str(k))} = {lit(x)}" for k, x in v.items()) + "}"

    return "".join(f"{json.dumps(str(k))} = {lit(v)}\n" for k, v in data.items())


def _get(data, path):
    for k in path:
        data = data[k]
    return data


@st.composite
def mutations(draw):
    kind, name = draw(st.sampled_from(PRESETS))
    data = preset_data(kind, name)
    paths = leaf_paths(data)
    numeric = [q for q in paths if isinstance(_get(data, q), int | float) and not isinstance(_get(data, q), bool)]
    # half the examples hit a number (the values most likely to overflow), the rest any key
    path = draw(st.sampled_from(numeric) | st.sampled_from(paths))
    parent = data
    for k in path[:-1]:
        parent = parent[k]
    old = parent[path[-1]]
    how = draw(
        st.sampled_from(
            ["extreme", "extreme", "remove", "random"] if isinstance(old, int | float) else ["remove", "random"]
        )
    )
    if how == "remove":
        if isinstance(parent, list):
            parent.pop(path[-1])
        else:
            del parent[path[-1]]
    elif how == "extreme":
        parent[path[-1]] = draw(st.sampled_from(EXTREMES))
    else:
        parent[path[-1]] = draw(RANDOM_VALUES)
    return kind, name, path, how, data


def check_mutation(kind: str, data: dict, capsys) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "mutated.toml"
        p.write_text(to_toml(data), encoding="utf-8")
        option = "--detector" if kind == "detectors" else "--facility"
        code = main(["rates", option, str(p), "--json"])
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code in (0, 2), f"exit {code}: {err}"
    if code == 2:
        assert len(lines) == 1 and lines[0].startswith("d2oflux: error: "), err
    else:
        result = json.loads(out)  # strict JSON: the CLI refuses NaN and Infinity
        assert result["channels"]
        assert all(ln.startswith("d2oflux: warning: ") for ln in lines), err


FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def mutated(kind: str, name: str, path: tuple, value) -> tuple:
    """An explicit mutation: ``path`` of preset ``name`` set to ``value``."""
    data = preset_data(kind, name)
    _get(data, path[:-1])[path[-1]] = value
    return kind, name, path, "explicit", data


@settings(FUZZ, max_examples=20)
@example(mutated("detectors", "d2o-module1", ("distance_m",), 1e-300))
@example(mutated("detectors", "csi", ("regions", 0, "mass_kg"), 1e308))
@example(mutated("detectors", "lar", ("response", "threshold_MeV"), 1e308))
@example(mutated("facilities", "sns-fts", ("power_MW",), 1e308))
@given(mutations())
def test_preset_mutations_short(capsys, mutation):
    kind, _, _, _, data = mutation
    check_mutation(kind, data, capsys)


@pytest.mark.slow
@settings(FUZZ, max_examples=400, derandomize=False)
@given(mutations())
def test_preset_mutations_long(capsys, mutation):
    kind, _, _, _, data = mutation
    check_mutation(kind, data, capsys)


def test_serialiser_round_trips_every_preset():
    for kind, name in PRESETS:
        data = preset_data(kind, name)
        assert tomllib.loads(to_toml(data)) == data
