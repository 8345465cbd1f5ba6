"""The README documents every CLI command and option; the public API is pinned."""

from __future__ import annotations

from pathlib import Path

import click

import codesift
from codesift.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "codesift"):
    for name, command in group.commands.items():
        yield f"{prefix} {name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix} {name}")


def test_every_command_and_option_is_documented():
    for name, command in _commands(main):
        if " " in name.removeprefix("codesift "):  # a subcommand: named in its group's list
            group, _, sub = name.rpartition(" ")
            assert f"### `{group} " in README and f"`{sub}" in README, f"{name} is not in the README"
        else:
            assert f"### `{name}" in README, f"command {name} is not in the README"
        for param in command.params:
            if isinstance(param, click.Option):
                longest = max(param.opts, key=len)
                assert f"`{longest}" in README, f"{name} {longest} is not in the README"


def test_public_api_is_pinned():
    assert sorted(codesift.__all__) == sorted([
        "Chunk", "CodesiftError", "Context", "Edge", "Filters", "GraphHit", "GraphNode", "Hit", "Index", "IndexSummary", "Settings",
        "Symbol", "__version__", "open_index"])
    for name in codesift.__all__:
        assert getattr(codesift, name) is not None
