"""`python -m scrapers <command>`: the one command line, dispatching to each command's module."""

from __future__ import annotations

import subprocess
import sys
from importlib import import_module

import pytest

from scrapers.__main__ import COMMANDS, main
from tests.conftest import REPO


def test_no_command_prints_the_commands_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m scrapers <command>")
    assert all(f"  {name} " in out for name in COMMANDS)


def test_help_succeeds_and_an_unknown_command_is_named(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    assert main(["--help"]) == 0
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_a_main(command: str) -> None:
    module, _, _ = COMMANDS[command]
    assert callable(import_module(module).main)


def test_a_command_help_names_the_one_entry_point() -> None:
    out = subprocess.run([sys.executable, "-m", "scrapers", "migrate", "--help"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("usage: python -m scrapers migrate ")
    assert "--admin-db" in out


def test_the_dispatcher_imports_no_command_module() -> None:
    """Listing the commands costs nothing: each module is imported only when it runs."""
    probe = ("import sys, scrapers.__main__ as m; "
             "print(sorted(n for n in sys.modules if n.startswith('scrapers.') "
             "and n != 'scrapers.__main__'))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"
