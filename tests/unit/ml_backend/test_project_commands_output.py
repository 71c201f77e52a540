"""What `textal up` and `textal init` print copies and pastes: a command is one line however narrow the terminal
(COLUMNS=40), never broken by our own wrapping; a `textal up` folder other than .textal/ is named in it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from ml_backend import project_commands
from ml_backend.recipes.init import InitResult

RESULT = InitResult(
    project_id=3,
    title="Support tickets (validation.csv)",
    created=True,
    imported=3000,
    tasks=3000,
    connected=True,
    predicted=100,
    open_tasks=3000,
    model_version="textal-cold-start",
    url="http://127.0.0.1:8080/projects/3/data?tab=5",
)


@pytest.fixture
def narrow_terminal(monkeypatch) -> io.StringIO:
    """A 40-column terminal, as rich sees one (COLUMNS=40, a tty)."""
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, color_system=None, highlight=False, _environ={"COLUMNS": "40"})
    assert console.width == 40
    monkeypatch.setattr(project_commands, "out", console)
    return screen


def test_printed_commands_are_whole_lines_in_a_40_column_terminal(narrow_terminal):
    project_commands._report(RESULT, "/home/me/textal/.textal/backend")
    lines = narrow_terminal.getvalue().splitlines()
    textal = project_commands._textal()
    assert f"Where it stands: {textal} status --project 3 --data-dir /home/me/textal/.textal/backend" in lines
    assert f"The labels: {textal} export --project 3 --format csv --out labels.csv" in lines
    assert "Open http://127.0.0.1:8080/projects/3/data?tab=5" in lines


def test_text_in_brackets_prints_as_written_not_as_markup(narrow_terminal):
    project_commands._say("textal init --recipe R --data F [--with-labels]")
    assert narrow_terminal.getvalue() == "textal init --recipe R --data F [--with-labels]\n"


def test_the_export_command_names_a_textal_up_folder_other_than_the_default(narrow_terminal, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    project_commands._report(RESULT, "elsewhere/backend", project_commands._home_arg(Path("my home")))
    assert "--out labels.csv --home 'my home'" in narrow_terminal.getvalue()
    assert project_commands._home_arg(Path(".textal")) == "" == project_commands._home_arg(tmp_path / ".textal")
