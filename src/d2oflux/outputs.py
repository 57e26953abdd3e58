"""Outputs written whole or not at all, never over a file d2oflux did not write.

Every writer of d2oflux goes through this module:

* :func:`atomic_file` (and :func:`write_text_atomic`, :func:`write_json_atomic`): one file, written to a
  temporary file in the destination folder and renamed onto its final name only when complete;
* :func:`atomic_folder`: a folder of files (the report), built in a temporary folder and moved into place
  by one rename (new folder) or file by file (a folder holding an earlier d2oflux report, recognised by
  its manifest :data:`MANIFEST_NAME`, which lists the files d2oflux wrote there and is written last).

Rules kept by both:

* **Temporary names** are ``.d2oflux-tmp-<PID>-<random>-<final name>``. A run that is killed (SIGKILL)
  leaves one behind; the next writer into that folder removes the ones whose PID is no longer running
  (:func:`sweep_temporaries`) and leaves every other file alone.
* **A lock file** :data:`LOCK_NAME` holding the writer's PID (created with ``O_CREAT | O_EXCL``) makes a
  second concurrent writer into the same folder fail with a one-line error; a lock left by a dead PID is
  taken over.
* **Permissions** follow the user's umask (``0666 & ~umask`` for files, ``0777 & ~umask`` for folders;
  ``tempfile`` would give 0600 / 0700).
* **Checks up front**: the folder exists, is a folder and is writable; the target is not a folder; an
  existing target was written by d2oflux (else a one-line :class:`~d2oflux.errors.ConfigError`).
* **Signals**: SIGINT / SIGTERM arriving while the final rename is done are held back until it is done,
  so a run ends either with the complete file or with none.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import ConfigError

TEMP_PREFIX = ".d2oflux-tmp-"
LOCK_NAME = ".d2oflux.lock"
MANIFEST_NAME = ".d2oflux-manifest.json"
_TEMP_RE = re.compile(r"^\.d2oflux-tmp-(\d+)-[0-9a-f]+-")


# ------------------------------------------------------------------------------------------------
# permissions and processes
# ------------------------------------------------------------------------------------------------
def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Permission bits of a new file under the current umask (0644 under umask 022)."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """Permission bits of a new folder under the current umask (0755 under umask 022)."""
    return 0o777 & ~current_umask()


def pid_alive(pid: int) -> bool:
    """True if a process with this PID exists (signal 0 probe; a PID of another user counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def temp_name(final_name: str) -> str:
    """A temporary name for ``final_name`` carrying this process's PID (see :func:`sweep_temporaries`)."""
    return f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{final_name}"


def sweep_temporaries(folder: str | Path) -> list[Path]:
    """Remove d2oflux temporary files and folders in ``folder`` whose writing process is dead.

    Only names matching ``.d2oflux-tmp-<PID>-<hex>-...`` are considered; everything else is left alone.
    Returns the removed paths.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_RE.match(entry.name)
        if m is None or pid_alive(int(m.group(1))):
            continue
        path = Path(entry.path)
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------------
# checks up front
# ------------------------------------------------------------------------------------------------
def check_writable_folder(folder: str | Path, option: str = "--output") -> Path:
    """Raise :class:`ConfigError` unless ``folder`` exists, is a folder and is writable."""
    f = Path(folder)
    if not f.exists():
        raise ConfigError(f"{option}: folder '{f}' does not exist")
    if not f.is_dir():
        raise ConfigError(f"{option}: '{f}' is not a folder")
    if not os.access(f, os.W_OK | os.X_OK):
        raise ConfigError(f"{option}: folder '{f}' is not writable")
    return f


def check_output_file(
    path: str | Path, option: str = "--output", *, is_ours: Callable[[Path], bool] | None = None
) -> Path:
    """Check an output file name before any work; returns it as a Path.

    The folder must exist and be writable, the name must not be a folder, and an existing file is
    replaced only if ``is_ours(path)`` recognises it as a d2oflux output of this kind.
    """
    p = Path(path)
    if p.name in ("", ".", ".."):
        raise ConfigError(f"{option} '{path}': expected a file name, got a folder")
    check_writable_folder(p.parent, option)
    if p.is_dir():
        raise ConfigError(f"{option} '{path}': is a folder; expected a file name")
    if p.exists() or p.is_symlink():
        if not p.is_file() or is_ours is None or not _safe(is_ours, p):
            raise ConfigError(
                f"{option} '{path}': a file of that name exists and was not written by d2oflux; "
                "choose another name or remove it"
            )
    return p


def _safe(is_ours: Callable[[Path], bool], p: Path) -> bool:
    try:
        return bool(is_ours(p))
    except Exception:  # an unreadable or foreign file is not ours
        return False


def check_free_space(folder: str | Path, nbytes: float, option: str = "--output") -> None:
    """Raise :class:`ConfigError` if ``folder``'s file system has less than ``nbytes`` free."""
    free = shutil.disk_usage(folder).free
    if nbytes > free:
        raise ConfigError(
            f"{option}: the output needs about {human_bytes(nbytes)} but only {human_bytes(free)} are free in "
            f"'{folder}'"
        )


def human_bytes(n: float) -> str:
    """``1.9e8`` -> ``'190 MB'`` (decimal units)."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    raise AssertionError  # pragma: no cover


# ------------------------------------------------------------------------------------------------
# lock and signals
# ------------------------------------------------------------------------------------------------
class FolderLock:
    """``.d2oflux.lock`` in ``folder`` for the time of a write (a context manager).

    Created with ``O_CREAT | O_EXCL`` and holding the PID; if it exists and its PID is alive, raise a
    one-line :class:`ConfigError`; if the PID is dead (a killed run), take the lock over.
    """

    def __init__(self, folder: str | Path, option: str = "--output") -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.option = option
        self.held = False

    def __enter__(self) -> FolderLock:
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, file_mode())
            except FileExistsError:
                pid = self._owner()
                if pid is not None and pid_alive(pid):
                    raise ConfigError(
                        f"{self.option}: another d2oflux (PID {pid}) is writing in '{self.folder}'; wait for it "
                        f"to finish (lock file {self.path})"
                    ) from None
                if pid is None:  # being written this instant, or garbage: look again before taking over
                    import time

                    time.sleep(0.05)
                    if self._owner() is None:
                        self.path.unlink(missing_ok=True)
                    continue
                if self._owner() == pid:  # stale: its PID is dead
                    self.path.unlink(missing_ok=True)
                continue
            except OSError as exc:
                raise ConfigError(f"{self.option}: cannot write in folder '{self.folder}': {exc.strerror}") from None
            with os.fdopen(fd, "w") as fh:
                fh.write(f"{os.getpid()}\n")
            self.held = True
            return self
        raise ConfigError(f"{self.option}: could not take the lock file {self.path}; remove it if no d2oflux runs")

    def _owner(self) -> int | None:
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            return -1  # gone: free to retry
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def __exit__(self, *exc) -> None:
        if self.held and self._owner() == os.getpid():
            self.path.unlink(missing_ok=True)
        self.held = False


@contextlib.contextmanager
def signals_held() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM back for the duration; the yielded list collects the ones received.

    When the block ends, the first one received is delivered to the previous handler. Outside the main
    thread (where Python cannot install handlers) this does nothing.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    sigs = (signal.SIGINT, signal.SIGTERM)
    old = {s: signal.signal(s, lambda signum, frame: received.append(signum)) for s in sigs}
    try:
        yield received
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if received:
            signal.raise_signal(received[0])


def _commit_file(tmp: Path, final: Path) -> None:
    """chmod to the umask and rename ``tmp`` onto ``final``; abort if a signal came first."""
    with signals_held() as received:
        os.chmod(tmp, file_mode())
        if received:
            tmp.unlink(missing_ok=True)
            return  # the held signal is delivered on leaving the block
        os.replace(tmp, final)


# ------------------------------------------------------------------------------------------------
# one file
# ------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_file(
    path: str | Path, option: str = "--output", *, is_ours: Callable[[Path], bool] | None = None
) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed onto ``path``, else removed.

    The checks of :func:`check_output_file` come first, the folder is locked (:class:`FolderLock`) and
    dead runs' temporaries are swept while writing.

    Examples
    --------
    >>> with atomic_file("events.parquet") as tmp:          # doctest: +SKIP
    ...     write_parquet(tmp)
    """
    final = check_output_file(path, option, is_ours=is_ours)
    with FolderLock(final.parent, option):
        sweep_temporaries(final.parent)
        check_output_file(final, option, is_ours=is_ours)  # again, now that the folder is ours
        tmp = final.parent / temp_name(final.name)
        try:
            yield tmp
            _commit_file(tmp, final)
        except BaseException:
            _remove(tmp)
            raise


def write_text_atomic(
    path: str | Path, text: str, option: str = "--output", *, is_ours: Callable[[Path], bool] | None = None
) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all (:func:`atomic_file`)."""
    with atomic_file(path, option, is_ours=is_ours) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(
    path: str | Path, obj, option: str = "--output", *, is_ours: Callable[[Path], bool] | None = None
) -> None:
    """Write ``obj`` as indented JSON to ``path`` whole or not at all (:func:`atomic_file`)."""
    from .errors import strict_json

    write_text_atomic(path, strict_json(obj, indent=1), option, is_ours=is_ours)  # never NaN or Infinity


# ------------------------------------------------------------------------------------------------
# a folder of files
# ------------------------------------------------------------------------------------------------
def read_manifest(folder: str | Path) -> list[str] | None:
    """The file names listed in ``folder``'s d2oflux manifest, or None if it has none."""
    p = Path(folder) / MANIFEST_NAME
    if not p.is_file():
        return None
    try:
        files = json.loads(p.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(files, list) or not all(isinstance(f, str) and f == Path(f).name for f in files):
        return None
    return files


def _manifest_text(files: list[str]) -> str:
    from . import __version__

    return json.dumps({"generator": "d2oflux", "version": __version__, "files": sorted(files)}, indent=1) + "\n"


def _user_entries(folder: Path) -> list[str]:
    """Names in ``folder`` other than d2oflux's lock, manifest and temporaries."""
    return sorted(
        e.name for e in os.scandir(folder) if e.name not in (LOCK_NAME, MANIFEST_NAME) and not _TEMP_RE.match(e.name)
    )


#: A function listing the files an earlier d2oflux version wrote into a folder before manifests existed
#: (None: not such a folder).
LegacyFiles = Callable[[Path], list[str] | None]


def _our_files(folder: Path, legacy: LegacyFiles | None) -> list[str] | None:
    files = read_manifest(folder)
    if files is None and legacy is not None:
        with contextlib.suppress(Exception):
            files = legacy(folder)
    return files


def check_output_folder(path: str | Path, option: str = "-o", *, legacy: LegacyFiles | None = None) -> Path:
    """Check a report folder before any work (see :func:`atomic_folder`); returns it as a Path."""
    out = Path(path)
    if out.name in ("", ".", "..") or out.resolve() == Path.cwd().resolve():
        out = out.resolve()
    check_writable_folder(out.parent, option)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{option} '{path}': is a file; expected a folder (new, or an earlier d2oflux report)")
    if out.is_dir():
        check_writable_folder(out, option)
        if _our_files(out, legacy) is None and _user_entries(out):
            raise ConfigError(
                f"{option} '{path}': folder is not empty and is not a d2oflux report (no {MANIFEST_NAME}); "
                "choose a new or empty folder"
            )
    return out


@contextlib.contextmanager
def atomic_folder(path: str | Path, option: str = "-o", *, legacy: LegacyFiles | None = None) -> Iterator[Path]:
    """Yield an empty temporary folder to fill with files; on success they appear in ``path``.

    * ``path`` does not exist: the temporary folder is renamed onto it (one atomic rename).
    * ``path`` is empty or holds an earlier d2oflux report (a manifest): each file is renamed into it
      (atomic per file); files of the earlier manifest not written again are removed; the manifest is
      written last. A file of the same name that the manifest does not list is never replaced (error).
    * anything else (a file, a folder with other content): :class:`ConfigError` before any work.

    Only plain files directly in the temporary folder are installed. ``legacy`` recognises a folder
    written by an earlier d2oflux without a manifest (its result stands for the manifest's list).
    """
    out = check_output_folder(path, option, legacy=legacy)
    fresh = not out.exists()
    where = out.parent if fresh else out
    with FolderLock(where, option):
        sweep_temporaries(where)
        out = check_output_folder(out, option, legacy=legacy)
        stage = where / temp_name(out.name or "report")
        stage.mkdir(mode=0o700)
        try:
            yield stage
            names = sorted(e.name for e in os.scandir(stage))
            if MANIFEST_NAME in names or LOCK_NAME in names:
                raise ConfigError(f"{option}: a report file may not be called {MANIFEST_NAME} or {LOCK_NAME}")
            if not all((stage / n).is_file() and not (stage / n).is_symlink() for n in names):
                raise ConfigError(f"{option}: only plain files can be written into the report folder")
            mode = file_mode()
            for n in names:
                os.chmod(stage / n, mode)
            if fresh or not out.exists():
                (stage / MANIFEST_NAME).write_text(_manifest_text(names), encoding="utf-8")
                os.chmod(stage / MANIFEST_NAME, mode)
                with signals_held() as received:
                    os.chmod(stage, dir_mode())
                    if not received:
                        try:
                            os.rename(stage, out)
                        except OSError as exc:
                            raise ConfigError(f"{option} '{path}': cannot create the folder: {exc.strerror}") from None
            else:
                _install_files(stage, out, names, option, path, _our_files(out, legacy) or [])
        finally:
            _remove(stage)


def _install_files(stage: Path, out: Path, names: list[str], option: str, path, old: list[str]) -> None:
    """Rename the staged files into ``out`` (empty, or an earlier report with files ``old``), manifest last."""
    clash = [n for n in names if (out / n).exists() and n not in old]
    if clash:
        raise ConfigError(
            f"{option} '{path}': '{clash[0]}' exists and was not written by d2oflux (not in {MANIFEST_NAME}); "
            "move it away or choose another folder"
        )
    with signals_held() as received:
        if received:
            return
        # every file of ours (old and new) is listed at every moment: an interrupted install stays recognisable
        _replace_manifest(out, sorted(set(old) | set(names)))
        for n in names:
            os.replace(stage / n, out / n)
        for n in set(old) - set(names):
            p = out / n
            if p.is_file() and not p.is_symlink():
                p.unlink()
        _replace_manifest(out, names)


def _replace_manifest(folder: Path, names: list[str]) -> None:
    tmp = folder / temp_name(MANIFEST_NAME)
    try:
        tmp.write_text(_manifest_text(names), encoding="utf-8")
        os.chmod(tmp, file_mode())
        os.replace(tmp, folder / MANIFEST_NAME)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
