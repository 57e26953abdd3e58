"""COHERENT public release files: checksums, download on first use (pooch), or an offline folder.

Release files are not shipped with d2oflux. :func:`release_file` finds one, in this order:

1. ``data_dir`` (``--data-dir``) or the environment variable ``D2OFLUX_DATA_DIR``: a folder holding
   ``<release>/<file>`` (e.g. a copy of the releases with ``csi2021/`` and ``lar2020/`` inside);
2. the pooch cache (``pooch.os_cache("d2oflux")``), downloading from the public source when missing.

Every file is checked against its SHA-256 below (computed from the public releases: CsI, the ancillary
files of arXiv:2110.07730v2; LAr, Zenodo record 10.5281/zenodo.3903810 = arXiv:2006.12659). A missing or
corrupted file raises :class:`~d2oflux.errors.ConfigError` saying how to fetch it.

The download URLs follow the per-file layout of the two public locations but could not be exercised here (no
network where d2oflux is developed); if a location serves a release only as an archive, unpack it into a
folder and use the offline path.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..errors import ConfigError

#: Environment variable naming an offline folder of releases.
DATA_DIR_ENV = "D2OFLUX_DATA_DIR"

#: Download locations of the public releases (file name appended).
RELEASE_URLS = {
    "csi2021": "https://arxiv.org/src/2110.07730v2/anc/",
    "lar2020": "https://zenodo.org/records/3903810/files/",
}

#: SHA-256 of every release file used, keyed by "<release>/<file>".
REGISTRY = {
    "csi2021/brnPE.txt": "0000b042b8d0d28b90370eb70d1409db1d8c510fcf2b3e636370b0d4443ac0b0",
    "csi2021/brnTrec.txt": "6f279d835242a868dfc048abaa42b8c400bf961036de7bc7e64636efdd46466f",
    "csi2021/dataBeamOnAC.txt": "f530d4a50e889333ada0e739db2e36d7f9f3b783822c8c6e932dae88ce071639",
    "csi2021/dataBeamOnC.txt": "0a188a0291af06dd023d966d1c9fea7a82ec32d8c1a10750fd09c2b17f10a749",
    "csi2021/effCoefficients.txt": "f1e58e6b8ec4db53da3be21fe44ebc4621e9b248b920be09759b1000dada8c51",
    "csi2021/ninPE.txt": "41cae0376003cc2dcd028a3913e7c16395471f612b56d311f80e2a6071c9950c",
    "csi2021/ninTrec.txt": "2bb034d648b312f4ee329ae95078dc748ff3f83b999c411b08f86d82ddf8e151",
    "csi2021/scintRespCoefficients.txt": "ea6b8f34b296bf6e99f2a4ac504030d99155daba3e3c252f51c87d2470319d13",
    "lar2020/CENNS10AnlAEfficiency.txt": "21ce25451c1ed552752ff4a22496deab3ff5dba178bf360813eaff1d25be89e2",
    "lar2020/LArParametersAnlA.yaml": "a206a77220436d0173c4783ae8fddeab97adf5e144f3d65005eff0870257693e",
    "lar2020/bkgpdf.txt": "36c89291dde3032a19ca7a8e64510d036d7b40c34b0805ce475a13ccfa739dd1",
    "lar2020/brnpdf.txt": "02664ce6a84eca8c6146b6502497bc5d8165df945da132193622334ff4ff826f",
    "lar2020/cevnspdf.txt": "3b1d5b25749e8d8e1cfdf5c32e48f026ce4aafec0a80632b3a63273e6e0e1f37",
    "lar2020/datanobkgsub.txt": "dabf3d80f13959f4b94b77c9b56f7347a645105801e8cc177424e7ffcf7c7f66",
    "lar2020/delbrnpdf.txt": "ebccca6c1650b0ace71fdbaade7a80ea289a99ff3c120266ae6ecf0083df5c63",
}


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _how_to_fetch(key: str) -> str:
    release = key.split("/")[0]
    return (
        f"download it from {RELEASE_URLS.get(release, 'the public release')} (or let d2oflux fetch it with "
        f"network access), or point --data-dir / {DATA_DIR_ENV} at a folder holding {key}"
    )


def release_file(key: str, data_dir: str | Path | None = None, *, allow_download: bool = True) -> Path:
    """Path of the checked release file ``key`` (``"<release>/<file>"``).

    Parameters
    ----------
    key : str
        A key of :data:`REGISTRY`, e.g. ``"lar2020/cevnspdf.txt"``.
    data_dir : path, optional
        Offline folder (default: ``$D2OFLUX_DATA_DIR``); when given, nothing is downloaded.
    allow_download : bool
        Whether to use pooch (network) when no offline folder is given.
    """
    if key not in REGISTRY:
        raise ConfigError(f"release file '{key}' is not in the registry (known: {', '.join(sorted(REGISTRY))})")
    folder = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    if folder is not None:
        path = Path(folder) / key
        if not path.is_file():
            raise ConfigError(f"release file '{path}' does not exist; {_how_to_fetch(key)}")
        digest = sha256(path)
        if digest != REGISTRY[key]:
            raise ConfigError(
                f"release file '{path}': wrong SHA-256 {digest[:12]}..., expected {REGISTRY[key][:12]}... "
                f"(corrupted or a different version); {_how_to_fetch(key)}"
            )
        return path
    if not allow_download:
        raise ConfigError(f"release file '{key}' is not available offline; {_how_to_fetch(key)}")
    return _download(key)


#: Seconds to wait for the release server before giving up (per connection attempt and read).
DOWNLOAD_TIMEOUT_S = 20


def _download(key: str) -> Path:
    import pooch

    release, name = key.split("/", 1)
    fetcher = pooch.create(
        path=pooch.os_cache("d2oflux") / release,
        base_url=RELEASE_URLS[release],
        registry={name: f"sha256:{REGISTRY[key]}"},
    )
    # a time-out, so that a machine without network fails in seconds instead of hanging
    downloader = pooch.HTTPDownloader(timeout=DOWNLOAD_TIMEOUT_S, progressbar=False)
    try:
        return Path(fetcher.fetch(name, downloader=downloader))
    except ValueError as exc:  # pooch: hash mismatch
        raise ConfigError(f"release file '{key}': {str(exc).splitlines()[0]}; {_how_to_fetch(key)}") from None
    except Exception as exc:  # network errors of several types
        raise ConfigError(
            f"release file '{key}' could not be downloaded ({type(exc).__name__}); {_how_to_fetch(key)}"
        ) from None
