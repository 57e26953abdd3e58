"""The documentation: citations of docs/physics.md resolve, the API reference is complete, the README's
documentation commands hold. (The strict MkDocs build itself runs in scripts/test.sh.)"""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PHYSICS = DOCS / "physics.md"

#: "docs/physics.md §3", "docs/physics.md section 3.2", "docs/physics.md s.7", and the same with the
#: brief's former name "PHYSICS.md" (whose numbering docs/physics.md keeps).
CITATION = re.compile(r"(?:docs/physics\.md|PHYSICS\.md)\)?[,;:]?\s*(?:§\s*|section\s+|s\.\s*)(\d+(?:\.\d+)?)")
HEADING = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)\.?\s", re.M)
CITING_FILES = ("*.py", "*.toml", "*.md", "*.csv", "*.sh")


def _physics_sections() -> set[str]:
    return set(HEADING.findall(PHYSICS.read_text(encoding="utf-8")))


def _files_that_cite():
    for folder in ("src", "tests", "benchmarks", "scripts", "docs"):
        for pattern in CITING_FILES:
            yield from (ROOT / folder).rglob(pattern)
    yield ROOT / "README.md"


def test_physics_has_sections_1_to_8():
    sections = _physics_sections()
    assert {str(n) for n in range(1, 9)} <= sections, sorted(sections)


def test_every_physics_citation_resolves():
    sections = _physics_sections()
    bad = []
    n_citations = 0
    for path in _files_that_cite():
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in CITATION.finditer(text):
            n_citations += 1
            if m.group(1) not in sections:
                line = text.count("\n", 0, m.start()) + 1
                bad.append(f"{path.relative_to(ROOT)}:{line}: '{m.group(0)}' (no heading {m.group(1)})")
    assert n_citations > 0  # the pattern finds the citations the code makes today
    assert not bad, "\n".join(bad)


def test_docs_never_cite_the_brief():
    for path in DOCS.rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        for word in ("PHYSICS.md", "DESIGN.md", "../shared", "the brief"):
            assert word not in text, f"{path.relative_to(ROOT)} mentions {word!r}"


def test_api_reference_covers_every_module():
    documented = set()
    for page in (DOCS / "api").glob("*.md"):
        documented |= set(re.findall(r"^::: ([\w.]+)", page.read_text(encoding="utf-8"), re.M))
    modules = set()
    for f in (ROOT / "src" / "d2oflux").rglob("*.py"):
        parts = f.relative_to(ROOT / "src").with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(p.startswith("_") for p in parts):
            modules.add(".".join(parts))
    modules -= {"d2oflux", "d2oflux.analysis"}  # package docstrings only; their modules are listed
    missing = sorted(modules - documented)
    assert not missing, f"add to a page in docs/api/: {', '.join(f'::: {m}' for m in missing)}"


def test_nav_lists_every_page():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in DOCS.rglob("*.md"):
        rel = page.relative_to(DOCS).as_posix()
        assert rel in nav, f"{rel} is not in the mkdocs.yml nav"


def test_readme_documentation_commands_hold():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Documentation", 1)[1].split("\n## ", 1)[0]
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert 'pip install -e ".[docs]"' in section
    assert any(d.startswith("mkdocs-material") for d in extras["docs"])
    assert any(d.startswith("mkdocstrings[python]") for d in extras["docs"])
    assert "mkdocs serve" in section and "mkdocs build --strict" in section
    # what CI runs: the docs extra installed and a strict build
    test_sh = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert re.search(r"EXTRAS=[\w,]*\bdocs\b", test_sh)
    assert "mkdocs build --strict" in test_sh


def _load_hook(name: str):
    spec = importlib.util.spec_from_file_location(f"_docs_hook_{name}", DOCS / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_cli_page_lists_every_command():
    import typer

    from d2oflux.cli import app

    hook = _load_hook("cli_help")
    page = hook.on_page_markdown((DOCS / "cli.md").read_text(encoding="utf-8"), None, None, None)
    names = typer.main.get_command(app).list_commands(None)
    assert len(names) >= 7
    for name in names:
        assert f"## `d2oflux {name}`" in page and f"Usage: d2oflux {name}" in page


def test_griffe_extension_keeps_prose_out_of_sections():
    pytest.importorskip("griffe")
    hook = _load_hook("griffe_prose_after_sections")
    doc = "Summary.\n\nParameters\n----------\nx : float\n    A value.\n\nReturns a list, then more.\n"
    assert hook.split_prose(doc).split("\n")[-4:-2] == ["Notes", "-----"]
    items_only = "Parameters\n----------\na, b : int\n\nc : float\n"
    assert hook.split_prose(items_only) == items_only
    roles = "see :func:`d2oflux.rates.expect` and :class:`~a.b.C`"
    assert hook.strip_roles(roles) == "see `d2oflux.rates.expect` and `C`"
    assert hook.fence_doctests(">>> 1 + 1\n2\n\nafter") == "```pycon\n>>> 1 + 1\n2\n```\n\nafter"
