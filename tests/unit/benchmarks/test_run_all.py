"""`make bench`'s table: every benchmark folder has quick and full commands, each naming a real script and its flags."""

from __future__ import annotations

import importlib.util
import re
import shlex

import pytest

from benchmarks import run_all

FOLDERS = sorted(p.name for p in (run_all.REPO / "benchmarks").iterdir() if p.is_dir() and any(p.glob("*.py")))


def test_every_folder_with_a_script_has_both_profiles():
    assert sorted(run_all.BENCHES) == FOLDERS
    for name, bench in run_all.BENCHES.items():
        assert bench.quick and bench.full, name


@pytest.mark.parametrize("folder", FOLDERS)
def test_each_command_names_a_script_of_its_folder_and_options_it_defines(folder):
    for line in run_all.BENCHES[folder].quick + run_all.BENCHES[folder].full:
        module, *args = shlex.split(line)
        assert module.startswith(f"benchmarks.{folder}."), line
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None, line
        source = open(spec.origin).read()
        for flag in (a for a in args if a.startswith("--")):
            assert re.search(rf"[\"']{re.escape(flag)}[\"']", source), f"{line}: {flag} not defined by {module}"


def test_the_full_profile_keeps_the_long_recorded_settings():
    full = " ".join(line for bench in run_all.BENCHES.values() for line in bench.full)
    assert "--tasks 100000" in full and "--texts 1000000" in full and "--repeats 10" in full
    assert "--minutes 30" in full


def test_list_prints_both_profiles_and_runs_nothing(capsys, monkeypatch):
    monkeypatch.setattr(run_all.subprocess, "run", lambda *a, **k: pytest.fail("--list ran a command"))
    assert run_all.main(["--list", "--only", "pool_scoring"]) == 0
    out = capsys.readouterr().out
    assert "quick: python -m benchmarks.pool_scoring.run --texts 10000" in out
    assert "full: python -m benchmarks.pool_scoring.run --texts 1000000" in out


def test_only_runs_one_folder_in_the_chosen_profile_and_reports_a_failure(monkeypatch):
    ran = []

    class Done:
        returncode = 1

    monkeypatch.setattr(run_all.subprocess, "run", lambda cmd, cwd: ran.append(cmd[2:]) or Done())
    assert run_all.main(["--full", "--only", "connect_latency"]) == 1
    assert [" ".join(args) for args in ran] == list(run_all.BENCHES["connect_latency"].full)


def test_the_demo_is_skipped_without_a_running_stack(monkeypatch):
    monkeypatch.setattr(run_all, "stack_up", lambda url=run_all.DEMO_URL: False)
    monkeypatch.setattr(run_all.subprocess, "run", lambda *a, **k: pytest.fail("ran the demo without a stack"))
    assert run_all.main(["--only", "demo"]) == 0
