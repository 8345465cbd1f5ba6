"""The README documents every CLI command and option; the public API is pinned."""

from __future__ import annotations

from pathlib import Path

import click

import codesift
from codesift.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_command_and_option_is_documented():
    for name, command in main.commands.items():
        assert f"### `codesift {name}" in README, f"command {name} is not in the README"
        for param in command.params:
            if isinstance(param, click.Option):
                longest = max(param.opts, key=len)
                assert f"`{longest}" in README, f"{name} {longest} is not in the README"


def test_public_api_is_pinned():
    assert sorted(codesift.__all__) == sorted([
        "Chunk", "CodesiftError", "Filters", "Hit", "Index", "IndexSummary", "Settings",
        "Symbol", "__version__", "open_index"])
    for name in codesift.__all__:
        assert getattr(codesift, name) is not None
