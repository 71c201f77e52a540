"""The README check finds a quoted figure in its raw file and names every figure, file or commit it cannot match."""

from __future__ import annotations

import json

from benchmarks import check_readme

RECORDS = [
    {"commit": "abc1234", "tasks": 1000, "p50_s": 0.8939, "p95_s": 1.2616, "agreement": 0.99903},
    {"commit": "def5678", "tasks": 100000, "p50_s": 5.0524, "runs": [{"texts_per_s": 686.33}, {"texts_per_s": 280.67}]},
]


def write(tmp_path, readme_text, records=RECORDS):
    raw = tmp_path / "benchmarks" / "x"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    readme = tmp_path / "README.md"
    readme.write_text(readme_text)
    return readme


def problems(tmp_path, readme_text, records=RECORDS):
    return check_readme.check(write(tmp_path, readme_text, records))


def test_a_figure_in_its_raw_file_passes_at_the_precision_quoted(tmp_path):
    text = (
        "A label became scores in 0.89 s (p50; p95 1.3 s), and 99.9 % agreed\n"
        "([raw](benchmarks/x/results.jsonl#tasks=1000)).\n"
    )
    assert problems(tmp_path, text) == []


def test_an_altered_figure_fails_with_its_line_and_raw_file(tmp_path):
    text = "Intro.\n\nA label became scores in 0.79 s\n(p50, [raw](benchmarks/x/results.jsonl)).\n"
    found = problems(tmp_path, text)
    assert [(p.line, p.figure, p.raw) for p in found] == [(3, "0.79 s", "benchmarks/x/results.jsonl")]
    assert check_readme.main([str(write(tmp_path, text))]) == 1


def test_a_figure_of_another_record_than_the_one_selected_fails(tmp_path):
    text = "At 1,000 tasks the median was 5.05 s ([raw](benchmarks/x/results.jsonl#tasks=1000)).\n"
    assert [p.figure for p in problems(tmp_path, text)] == ["5.05 s"]


def test_a_missing_raw_file_fails(tmp_path):
    text = "It took 0.89 s ([raw](benchmarks/x/missing.json)).\n"
    found = problems(tmp_path, text)
    assert found and found[0].raw == "benchmarks/x/missing.json" and "not found" in found[0].why


def test_a_commit_the_raw_record_does_not_hold_fails(tmp_path):
    good = "One run at commit abc1234: 0.89 s ([raw](benchmarks/x/results.jsonl)).\n"
    assert problems(tmp_path, good) == []
    bad = "One run at commit def5678: 0.89 s ([raw](benchmarks/x/results.jsonl#tasks=1000)).\n"
    assert [p.figure for p in problems(tmp_path, bad)] == ["commit def5678"]


def test_the_named_commit_chooses_the_record_its_figures_are_looked_for_in(tmp_path):
    text = "One run at commit def5678: 0.89 s ([raw](benchmarks/x/results.jsonl)).\n"
    assert [p.figure for p in problems(tmp_path, text)] == ["0.89 s"]


def test_a_ratio_is_found_from_the_two_raw_numbers_its_sentence_quotes(tmp_path):
    text = "bf16 ran 2.4x as fast (686 against 281 texts a second, [raw](benchmarks/x/results.jsonl)).\n"
    assert problems(tmp_path, text) == []
    wrong = "bf16 ran 2.6x as fast (686 against 281 texts a second, [raw](benchmarks/x/results.jsonl)).\n"
    assert [p.figure for p in problems(tmp_path, wrong)] == ["2.6x"]


def test_counts_versions_code_commits_and_uncited_sentences_are_not_figures(tmp_path):
    text = (
        "Label Studio `1.23` with small-text 1.4.1 ran 10 repeats on 2 cores at commit abc1234; p50 and v0007\n"
        "stayed at 0.89 s ([raw](benchmarks/x/results.jsonl)).\n\n"
        "A setting of 15 s is no measurement.\n\n"
        "```\nrun --timeout 3.5\n```\n"
    )
    assert problems(tmp_path, text) == []


def test_a_figure_quoted_from_a_write_up_without_a_raw_file_fails(tmp_path):
    text = "It took 2.8 s ([benchmarks/demo](benchmarks/demo/RESULTS.md)).\n"
    assert [(p.figure, p.raw) for p in problems(tmp_path, text)] == [("2.8 s", "benchmarks/demo/RESULTS.md")]


def test_a_table_row_and_a_csv_row_are_read_alike(tmp_path):
    csv_dir = tmp_path / "benchmarks" / "y"
    csv_dir.mkdir(parents=True)
    (csv_dir / "summary.csv").write_text("strategy,auc\nhybrid.v2,0.9623\nrandom,0.9316\n")
    text = (
        "| strategy | AUC |\n|---|---|\n"
        "| hybrid | 0.962 [raw](benchmarks/y/summary.csv#strategy=hybrid.v2) |\n"
        "| random | 0.962 [raw](benchmarks/y/summary.csv#strategy=random) |\n"
    )
    found = problems(tmp_path, text)
    assert [(p.line, p.figure) for p in found] == [(4, "0.962")]


def test_several_named_commits_choose_their_records_together(tmp_path):
    text = "Runs at commits abc1234 and def5678: 0.89 s and 5.05 s ([raw](benchmarks/x/results.jsonl)).\n"
    assert problems(tmp_path, text) == []
    wrong = "Runs at commits abc1234 and 0123abc: 0.89 s ([raw](benchmarks/x/results.jsonl)).\n"
    assert [p.figure for p in problems(tmp_path, wrong)] == ["commit 0123abc"]
