"""Event files for the fit: every malformed file gives one clear error."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from d2oflux.analysis.events import read_events
from d2oflux.errors import ConfigError

GOOD = "energy_MeV,time_ns,window\n20.5,1200,on\n33.0,400,off\n"


def write(tmp_path, text, name="ev.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_reads_csv_and_parquet(tmp_path):
    ev = read_events(write(tmp_path, GOOD))
    assert list(ev["window"]) == ["on", "off"]
    assert ev["energy_MeV"][0] == 20.5
    table = pa.table({"energy_MeV": [20.5, 33.0], "time_ns": [1200.0, 400.0], "window": ["on", "off"]})
    pq.write_table(table, tmp_path / "ev.parquet")
    ev2 = read_events(tmp_path / "ev.parquet")
    assert list(ev2["time_ns"]) == [1200.0, 400.0]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("energy_MeV,time_ns\n1,2\n", "missing column.*window"),
        ("energy_MeV,time_ns,window,extra\n1,2,on,3\n", "unexpected column.*extra"),
        ("energy_MeV,time_ns,window\nabc,2,on\n", "'energy_MeV' has a non-numeric value 'abc'"),
        ("energy_MeV,time_ns,window\n10,-2,on\n", "negative time_ns"),
        ("energy_MeV,time_ns,window\n10,2,beam\n", "unknown window label 'beam'"),
        ("energy_MeV,time_ns,window\nnan,2,on\n", "NaN"),
        ("", "empty file"),
    ],
)
def test_bad_event_files(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        read_events(write(tmp_path, text))


def test_bad_suffix_and_missing(tmp_path):
    with pytest.raises(ConfigError, match="unknown suffix"):
        read_events(write(tmp_path, GOOD, "ev.txt"))
    with pytest.raises(ConfigError, match="does not exist"):
        read_events(tmp_path / "none.csv")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(ConfigError, match="not a readable parquet"):
        read_events(tmp_path / "bad.parquet")
