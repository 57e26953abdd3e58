"""MkDocs hook: replace ``<!-- d2oflux-cli-help -->`` in a page with the ``--help`` text of every command.

The text comes from the installed ``d2oflux`` command-line application itself (typer's click command),
so the command-line page can never drift from the code. Nothing is fetched from the network.
"""

from __future__ import annotations

import os

MARKER = "<!-- d2oflux-cli-help -->"


def _help_text(command, info_name: str, parent=None) -> str:
    import click

    with click.Context(command, info_name=info_name, parent=parent, terminal_width=100, max_content_width=100) as ctx:
        return command.get_help(ctx)


def _render() -> str:
    os.environ.setdefault("NO_COLOR", "1")
    import typer

    from d2oflux.cli import app

    group = typer.main.get_command(app)
    import click

    root = click.Context(group, info_name="d2oflux", terminal_width=100, max_content_width=100)
    parts = ["## `d2oflux`", "", "```text", group.get_help(root).rstrip(), "```", ""]
    for name in group.list_commands(root):
        cmd = group.get_command(root, name)
        parts += [f"## `d2oflux {name}`", "", "```text", _help_text(cmd, name, root).rstrip(), "```", ""]
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, _render())
