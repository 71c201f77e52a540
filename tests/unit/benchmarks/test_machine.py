"""A run record names the command, commit, date, machine and library versions; latencies summarise alike."""

from __future__ import annotations

import json
import sys

import pytest

from benchmarks import machine


def test_a_run_record_keeps_the_old_keys_and_adds_the_machine_and_versions(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["run.py", "--tasks", "10", "--json", str(machine.REPO / "out" / "r.json")])
    record = machine.run_record("benchmarks.demo.refresh_probe")
    assert record["command"] == "python -m benchmarks.demo.refresh_probe --tasks 10 --json out/r.json"
    assert {"command", "commit", "date", "machine"} <= set(record)
    assert record["cpu"] == machine.cpu_name() and record["cores"] >= 1 and record["gpu"]
    assert set(machine.KEY_LIBRARIES) <= set(record["versions"])
    assert record["versions"]["numpy"] == __import__("numpy").__version__


def test_a_library_not_installed_is_said_so_and_a_callers_list_is_added():
    record = machine.run_record("x", libraries=["surely-not-a-package-textal"])
    assert record["versions"]["surely-not-a-package-textal"] == machine.NOT_INSTALLED
    assert record["command"] == "python -m x" or record["command"].startswith("python -m x ")


def test_versions_are_read_in_another_interpreter_where_one_is_named():
    assert machine.versions(["numpy", "surely-not-a-package-textal"], python=sys.executable) == {
        "numpy": __import__("numpy").__version__,
        "surely-not-a-package-textal": machine.NOT_INSTALLED,
    }


def test_the_gpu_is_none_without_cuda(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert machine.gpu_name() == machine.NO_GPU


def test_latency_summary_gives_percentiles_from_the_raw_values():
    summary = machine.latency_summary([float(v) for v in range(1, 101)])
    assert summary["n"] == 100 and summary["max"] == 100.0
    assert summary["p50"] == pytest.approx(50.5) and summary["p95"] == pytest.approx(95.05)
    assert summary["p99"] == pytest.approx(99.01)
    assert machine.latency_summary([])["p99"] is None


def test_write_raw_puts_the_record_beside_the_results(tmp_path):
    path = machine.write_raw(tmp_path / "sub" / "raw.json", {"latencies_s": [0.1, 0.2]}, "benchmarks.x.run")
    saved = json.loads(path.read_text())
    assert saved["latencies_s"] == [0.1, 0.2] and saved["command"].startswith("python -m benchmarks.x.run")
    assert "versions" in saved and "date" in saved


def test_a_jsonl_raw_file_gets_one_line_a_run_and_reads_back_in_order(tmp_path):
    path = tmp_path / "results.jsonl"
    machine.write_raw(path, {"run": 1}, "benchmarks.x.run")
    machine.write_raw(path, {"run": 2}, "benchmarks.x.run")
    runs = machine.read_raw(path)
    assert [r["run"] for r in runs] == [1, 2] and all("commit" in r for r in runs)


def test_provenance_reads_a_run_record_and_falls_back_to_the_commit_that_added_the_file(tmp_path):
    record = {"date": "2026-12-01T10:00:00+00:00", "commit": "abc1234", "cpu": "AMD EPYC", "cores": 2, "gpu": "none"}
    assert machine.provenance(record, tmp_path / "x.json") == (
        "Recorded 2026-12-01 at commit abc1234 on AMD EPYC, 2 cores, GPU none."
    )
    commit, date = machine.committed(machine.REPO / "benchmarks" / "machine.py")
    assert commit and len(date) == 10
    assert machine.provenance(None, machine.REPO / "benchmarks" / "machine.py").startswith(f"Raw file committed {date}")
    assert machine.provenance(None, tmp_path / "never-committed.json") == "Date and machine not recorded."
