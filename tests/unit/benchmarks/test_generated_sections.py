"""RESULTS.md's generated parts are written from the raw files alone, and the committed ones are current."""

from __future__ import annotations

import importlib

import pytest

from benchmarks.generated_section import section_is_current, with_section, write_section
from benchmarks.machine import read_raw


def test_the_generated_part_is_replaced_and_the_prose_around_it_kept(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text("# Title\n\nProse before.\n")
    assert write_section(path, "benchmarks.x.report", "| a |\n|---|\n| 1 |")
    first = path.read_text()
    assert first.startswith("# Title\n\nProse before.") and "| 1 |" in first
    path.write_text(first + "\nProse after.\n")
    assert write_section(path, "benchmarks.x.report", "| a |\n|---|\n| 2 |")
    text = path.read_text()
    assert "| 2 |" in text and "| 1 |" not in text and text.endswith("Prose after.\n")
    assert not write_section(path, "benchmarks.x.report", "| a |\n|---|\n| 2 |")  # nothing to change


def test_a_section_edited_by_hand_is_not_current(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text(with_section("# T\n", "benchmarks.x.report", "| a |\n|---|\n| 1.00 |"))
    path.write_text(path.read_text().replace("1.00", "0.90"))
    assert not section_is_current(path, "benchmarks.x.report", "| a |\n|---|\n| 1.00 |")


@pytest.mark.parametrize("folder", ["refresh_latency", "connect_latency"])
def test_the_committed_results_md_holds_what_its_raw_file_gives(folder):
    report = importlib.import_module(f"benchmarks.{folder}.report")
    body = report.table(read_raw(report.HERE / "results.jsonl"))
    assert section_is_current(report.HERE / "RESULTS.md", report.MODULE, body), f"run python -m {report.MODULE}"


def test_a_refresh_row_is_computed_from_the_raw_latencies():
    from benchmarks.refresh_latency.report import row

    run = {
        "date": "2026-12-07T00:00:00",
        "commit": "abc1234",
        "cpu": "AMD EPYC",
        "tasks": 1000,
        "latencies_s": [1.0, 2.0, 4.0],
        "burst_s": [1.0, 2.5],
        "burst_outcome": "new",
        "worker_median_s": {"total": 0.5},
        "p95_s": 99.0,
    }  # a stored percentile is not what the row shows
    cells = [c.strip() for c in row(run).strip("|").split("|")]
    assert cells[5:11] == ["3", "2.00", "3.80", "3.96", "4.00", "2/3"] and cells[-1] == "1.5"
