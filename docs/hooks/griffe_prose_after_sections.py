"""Griffe extension: keep prose that follows a numpy-style section out of that section.

Several d2oflux docstrings end a ``Parameters``/``Attributes``/``Returns`` block with a plain paragraph
(e.g. "Returns a list ordered by channel ..."). Griffe's numpy parser reads every line up to the next
section header as section items, so such a paragraph would be rendered as a bogus parameter (or, for a
blank item name, break the build). This extension, used only by the documentation build, starts a
``Notes`` section before such a paragraph, and fences doctest blocks (``>>>`` lines and their output)
as ``pycon`` code so that their output is not read as Markdown, and shows Sphinx roles
(``:func:`x```, ``:class:`~a.b.C```) as inline code. The source files are left untouched.
"""

from __future__ import annotations

import re

import griffe

_SECTIONS = {
    "parameters",
    "other parameters",
    "attributes",
    "returns",
    "yields",
    "receives",
    "raises",
    "warns",
}
#: An item line: ``name``, ``name : type`` or ``a, b : type`` (optionally ``*args``/``**kwargs``).
_ITEM = re.compile(r"^\*{0,2}[A-Za-z_][\w.]*(\s*,\s*\*{0,2}[A-Za-z_][\w.]*)*(\s*:.*)?$")
_DASHES = re.compile(r"^\s*-{3,}\s*$")


def split_prose(text: str) -> str:
    """Return ``text`` with a ``Notes`` header before prose that follows a section's items."""
    lines = text.split("\n")
    out: list[str] = []
    in_section = False
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _DASHES.match(nxt) and line.strip():
            in_section = line.strip().lower() in _SECTIONS
            out.append(line)
            continue
        starts_paragraph = i > 0 and not lines[i - 1].strip() and line.strip() and not line.startswith(" ")
        if in_section and starts_paragraph and not _ITEM.match(line.strip()) and not _DASHES.match(line):
            out += ["Notes", "-----"]
            in_section = False
        out.append(line)
    return "\n".join(out)


def fence_doctests(text: str) -> str:
    """Wrap each run of doctest lines (``>>> ...`` up to the next blank line) in a ``pycon`` code fence."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(">>>") and not (out and out[-1].lstrip().startswith("```")):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}```pycon")
            while i < len(lines) and lines[i].strip():
                out.append(lines[i])
                i += 1
            out.append(f"{indent}```")
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|obj|exc|const):`(~?)([^`]+)`")


def strip_roles(text: str) -> str:
    """Turn Sphinx cross-reference roles into inline code (``~`` keeps only the last dotted part)."""
    return _ROLE.sub(lambda m: f"`{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}`", text)


class ProseAfterSections(griffe.Extension):
    """Apply :func:`split_prose` to every docstring when it is loaded."""

    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None and not obj.is_alias:
            obj.docstring.value = strip_roles(fence_doctests(split_prose(obj.docstring.value)))
