"""`make bench`'s table: every benchmark folder has quick and full commands, each naming a real script and its flags."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import PurePosixPath

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


QUICK_LINES = [(name, line) for name, bench in run_all.BENCHES.items() for line in bench.quick]


@pytest.mark.parametrize(("folder", "line"), QUICK_LINES)
def test_no_quick_command_names_a_path_under_benchmarks(folder, line):
    """`make bench` must leave the committed raw files, reports and figures (the full runs') alone."""
    _, *args = shlex.split(line)
    for arg in args:
        for value in (arg, arg.split("=", 1)[-1]):
            assert not value.startswith(("benchmarks/", "./benchmarks/", f"{run_all.REPO}/benchmarks")), line


@pytest.mark.parametrize(("folder", "line"), QUICK_LINES)
def test_each_quick_output_option_points_under_build_bench_quick(folder, line):
    module, *args = shlex.split(line)
    source = open(importlib.util.find_spec(module).origin).read()
    defined = [flag for flag in run_all.OUTPUTS if re.search(rf"add_argument\(\s*[\"']{re.escape(flag)}[\"']", source)]
    given = dict(zip(args, args[1:]))
    for flag in defined:  # every output the script can write is named, so none falls back to its default here
        assert flag in given, f"{line}: {flag} left at the script's default"
        path = PurePosixPath(given[flag])
        assert path.parts[:3] == ("build", "bench-quick", folder), f"{line}: {flag} {path}"
    assert run_all.outputs(line) == [given[flag] for flag in args if flag in run_all.OUTPUTS]


def test_the_folder_based_scripts_get_their_own_quick_folder():
    for folder in ("label_efficiency", "class_weight", "label_noise", "peers", "two_tier"):
        for line in run_all.BENCHES[folder].quick:
            assert run_all.outputs(line) == [f"build/bench-quick/{folder}"], line
        for line in run_all.BENCHES[folder].full:  # the full runs keep writing into the folder (the default)
            assert "--out" not in shlex.split(line), line


def test_build_is_git_ignored():
    assert "build/" in (run_all.REPO / ".gitignore").read_text().splitlines()


def test_a_quick_run_creates_the_folders_it_writes_into(monkeypatch, tmp_path):
    class Done:
        returncode = 0

    monkeypatch.setattr(run_all, "REPO", tmp_path)
    monkeypatch.setattr(run_all.subprocess, "run", lambda cmd, cwd: Done())
    assert run_all.main(["--only", "first_hour,peers,guess_line"]) == 0
    assert (tmp_path / "build" / "bench-quick" / "first_hour").is_dir()
    assert (tmp_path / "build" / "bench-quick" / "peers").is_dir()
    assert sorted(p.name for p in (tmp_path / "build" / "bench-quick").iterdir()) == ["first_hour", "peers"]
    assert not (tmp_path / "benchmarks").exists()
