"""Check that every figure the README quotes is found in the raw results file it cites.

Run as ``python -m benchmarks.check_readme [README]`` (``make test`` runs it): exit 0 when every cited figure is
found, else exit 1 and one line per problem: the README's line, the figure, the raw file.

The convention, in the README:

1. A sentence that quotes a measured figure carries a link to the raw file it comes from, a JSON, JSON-lines or
   CSV file under ``benchmarks/``: ``[raw](benchmarks/refresh_latency/results.jsonl)``. The link may name the
   records it comes from after ``#``, as ``key=value`` pairs joined by ``&``:
   ``[raw](benchmarks/refresh_latency/results.jsonl#tasks=1000&database=sqlite)``. A record is a JSON object at
   any depth (it inherits its parents' plain fields, so a run's ``commit`` covers the rows under it), a line of a
   JSON-lines file, or a row of a CSV file; without ``#`` the whole file counts. A sentence may cite several raw
   files: its figures are looked for in all of them. A sentence ends at ``.``, ``!`` or ``?`` followed by a space
   and a capital letter, at a blank line, a list item, a table row or a heading; a table row is a sentence of its
   own. Code spans, fenced code and link targets are not read.
2. A figure is a number with a decimal point (``0.25``) or with a unit: ``%``, ``x``, ``ms``, ``s``, ``min``,
   ``KB``, ``MB``, ``MiB``, ``GB``, ``GiB``. Integers without a unit (counts, sizes, settings) are not figures,
   nor are numbers glued to letters (``p50``, ``v0007``, a commit), versions (``1.23.2``: two dots or more),
   or numbers in code spans. Signs are ignored (``−0.25`` is looked for as 0.25).
3. A figure is found when a number of the cited records rounds to it at the precision it is written with
   (``1.5`` matches 1.4962; ``1,200 s`` matches 1200). A ``%`` figure also matches a fraction times 100
   (``12.5 %`` matches 0.125), an ``ms`` figure also a number of seconds times 1000. A ratio (``2.0x``) is found
   when the raw file holds it, or when it is ``a / b`` for two raw numbers that two other numbers of the same
   sentence quote (``2.0x ... (300 against 150 texts a second)``).
4. A sentence that names a commit (``commit 1a2b3c4``, or ``commits 1a2b3c4 and 5d6e7f8``: the word, then 7 to 40
   hex digits) is checked against the cited records whose ``commit`` starts with it (or it with
   theirs): a named commit no cited record holds is a problem.
5. A sentence that quotes a figure and links a benchmark's write-up (``benchmarks/.../*.md``) without a raw file
   is a problem too: a figure is quoted from a raw file, or not at all.

A figure a report computes from the raw results (a mean over repeats, a difference of two runs) is quoted only
once a raw file holds it, for instance a summary file the report writes beside RESULTS.md. The check reads
whatever raw files exist: it holds no figure of its own.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RAW_SUFFIXES = (".json", ".jsonl", ".csv")
UNITS = ("%", "x", "ms", "s", "min", "KB", "MB", "MiB", "GB", "GiB")

_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
_CODE = re.compile(r"`[^`]*`")
_COMMIT = re.compile(r"\bcommits?\s+([0-9a-f]{7,40}(?:(?:,|,? and)\s+[0-9a-f]{7,40})*)\b")
_HEX = re.compile(r"\b[0-9a-f]{7,40}\b")
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?")
_UNIT_AFTER = re.compile(r"\s?(" + "|".join(sorted(UNITS, key=len, reverse=True)) + r")(?!\w)")
_SENTENCE_END = re.compile(r"[.!?]\)?\s+(?=[A-Z])")
_BLOCK_START = re.compile(r"\s*(?:[-*+] |\d+\. |\||#)")


@dataclass
class Figure:
    """A number quoted in the README: its text, value, decimals, unit and line."""

    text: str
    value: float
    decimals: int
    unit: str
    line: int

    @property
    def is_figure(self) -> bool:
        return self.decimals > 0 or bool(self.unit)


@dataclass
class Sentence:
    """A sentence of the README with where each of its characters came from."""

    text: str
    lines: list[int]
    raw_links: list[str] = field(default_factory=list)
    write_up_links: list[str] = field(default_factory=list)

    def line_at(self, offset: int) -> int:
        return self.lines[min(offset, len(self.lines) - 1)] if self.lines else 0


@dataclass
class Problem:
    line: int
    figure: str
    raw: str
    why: str

    def __str__(self) -> str:
        return f"README line {self.line}: {self.figure} {self.why} ({self.raw})"


def _blocks(text: str) -> Iterator[tuple[str, list[int]]]:
    """Paragraphs, list items, table rows and headings, each joined into one string with its line numbers."""
    chars: list[str] = []
    lines: list[int] = []
    fenced = False
    alone = False  # the block so far is a table row or a heading: the next line starts another

    def flush() -> Iterator[tuple[str, list[int]]]:
        if chars:
            yield "".join(chars), list(lines)
        chars.clear()
        lines.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("```"):
            yield from flush()
            fenced = not fenced
            continue
        if fenced or not stripped:
            yield from flush()
            continue
        if alone or _BLOCK_START.match(line):
            yield from flush()
        alone = stripped.startswith(("|", "#"))
        if chars:
            chars.append(" ")
            lines.append(number)
        chars.extend(stripped)
        lines.extend([number] * len(stripped))
    yield from flush()


def sentences(text: str) -> list[Sentence]:
    """The README's sentences (rule 1), with the raw files and write-ups each links."""
    found: list[Sentence] = []
    for block, lines in _blocks(text):
        start = 0
        ends = [m.end() for m in _SENTENCE_END.finditer(block)] if not block.startswith("|") else []
        for end in [*ends, len(block)]:
            piece = block[start:end]
            sentence = Sentence(piece, lines[start:end])
            for match in _LINK.finditer(piece):
                target = match.group(2)
                path = target.split("#", 1)[0]
                if path.startswith("benchmarks/") and path.endswith(RAW_SUFFIXES):
                    sentence.raw_links.append(target)
                elif path.startswith("benchmarks/") and path.endswith(".md"):
                    sentence.write_up_links.append(target)
            found.append(sentence)
            start = end
    return found


def _blank(text: str, pattern: re.Pattern[str], keep_group: int | None = None) -> str:
    """The text with each match of ``pattern`` turned into spaces (its group ``keep_group`` kept), offsets kept."""

    def spaces(match: re.Match[str]) -> str:
        if keep_group is None:
            return " " * len(match.group(0))
        kept = match.group(keep_group)
        return " " + kept + " " * (len(match.group(0)) - len(kept) - 1)

    return pattern.sub(spaces, text)


def figures(sentence: Sentence) -> list[Figure]:
    """Every number of a sentence (rule 2), figures and plain integers alike; see ``Figure.is_figure``."""
    text = _blank(_blank(sentence.text, _CODE), _LINK, keep_group=1)
    found = []
    for match in _NUMBER.finditer(text):
        after = text[match.end() :]
        unit_match = _UNIT_AFTER.match(after)
        if not unit_match and re.match(r"\.\d|\w", after):
            continue  # glued to letters (a commit, "2d"), or a version's first parts
        unit = unit_match.group(1) if unit_match else ""
        decimals = len(match.group(2)) - 1 if match.group(2) else 0
        value = float(match.group(1).replace(",", "") + (match.group(2) or ""))
        text_of = text[match.start() : match.end() + (unit_match.end() if unit_match else 0)]
        found.append(Figure(text_of, value, decimals, unit, sentence.line_at(match.start())))
    return found


@dataclass
class Record:
    """A raw record: its own and inherited plain fields, and every number under it."""

    fields: dict[str, object]
    numbers: list[float]


def _numbers(value: object) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield float(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)


def _records(value: object, inherited: dict[str, object]) -> Iterator[Record]:
    if isinstance(value, dict):
        own = {**inherited, **{k: v for k, v in value.items() if not isinstance(v, dict | list)}}
        yield Record(own, list(_numbers(value)))
        for item in value.values():
            yield from _records(item, own)
    elif isinstance(value, list):
        for item in value:
            yield from _records(item, inherited)


def _cell(text: str) -> object:
    try:
        return float(text)
    except ValueError:
        return text


def load_records(path: Path) -> list[Record]:
    """Every record of a raw file (rule 1): JSON objects at any depth, a JSON-lines file's lines, CSV rows."""
    if path.suffix == ".csv":
        with path.open(newline="") as handle:
            rows = [{k: _cell(v) for k, v in row.items() if k is not None} for row in csv.DictReader(handle)]
        return [Record(dict(row), list(_numbers(row))) for row in rows]
    text = path.read_text()
    if path.suffix == ".jsonl":
        documents = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        documents = [json.loads(text)]
    records: list[Record] = []
    for document in documents:
        records.extend(_records(document, {}))
    if not records:
        records = [Record({}, list(_numbers(documents)))]
    return records


def _same(value: object, wanted: str) -> bool:
    if str(value) == wanted:
        return True
    try:
        return isinstance(value, int | float) and not isinstance(value, bool) and float(value) == float(wanted)
    except ValueError:
        return False


def select(records: list[Record], selector: str) -> list[Record]:
    """The records whose fields hold every ``key=value`` of ``selector`` (all of them for an empty one)."""
    pairs = [part.split("=", 1) for part in selector.split("&") if part]
    return [r for r in records if all(len(p) == 2 and p[0] in r.fields and _same(r.fields[p[0]], p[1]) for p in pairs)]


def _close(value: float, figure: Figure) -> bool:
    return abs(abs(value) - figure.value) <= 0.5 * 10.0**-figure.decimals + 1e-9


def matches(figure: Figure, numbers: list[float]) -> list[float]:
    """The raw numbers a figure is found as (rule 3, before ratios)."""
    scales = [1.0]
    if figure.unit == "%":
        scales.append(100.0)
    elif figure.unit == "ms":
        scales.append(1000.0)
    return [n for n in numbers if any(_close(n * scale, figure) for scale in scales)]


def _ratio_found(figure: Figure, others: list[Figure], numbers: list[float]) -> bool:
    """Whether a ratio is ``a / b`` of raw numbers that two other numbers of its sentence quote (rule 3)."""
    quoted = [(i, n) for i, other in enumerate(others) for n in matches(other, numbers)]
    return any(i != j and b and _close(a / b, figure) for i, a in quoted for j, b in quoted)


def _same_commit(named: str, recorded: object) -> bool:
    recorded = str(recorded or "").lower()
    return bool(recorded) and (recorded.startswith(named) or named.startswith(recorded))


def check_sentence(sentence: Sentence, readme_dir: Path, root: Path) -> list[Problem]:
    """The problems of one sentence: figures not found, raw files missing, commits that differ."""
    numbers_in = figures(sentence)
    quoted = [f for f in numbers_in if f.is_figure]
    first_line = sentence.lines[0] if sentence.lines else 0
    if not sentence.raw_links:
        if quoted and sentence.write_up_links:
            write_up = sentence.write_up_links[0]
            return [Problem(f.line, f.text, write_up, "quoted from a write-up, not a raw file") for f in quoted]
        return []
    problems: list[Problem] = []
    records: list[Record] = []
    for link in sentence.raw_links:
        path_text, _, selector = link.partition("#")
        path = (readme_dir / path_text).resolve()
        if not path.is_file():
            path = (root / path_text).resolve()
        if not path.is_file():
            problems.append(Problem(first_line, "-", path_text, "raw file not found"))
            continue
        try:
            loaded = load_records(path)
        except (OSError, ValueError) as err:
            problems.append(Problem(first_line, "-", path_text, f"raw file unreadable: {err}"))
            continue
        chosen = select(loaded, selector)
        if not chosen:
            problems.append(Problem(first_line, "#" + selector, path_text, "no record matches"))
        records.extend(chosen)
    raw_names = ", ".join(link for link in sentence.raw_links)
    commits = [c for named in _COMMIT.findall(sentence.text) for c in _HEX.findall(named)]
    for commit in commits:
        if records and not any(_same_commit(commit, r.fields.get("commit")) for r in records):
            problems.append(Problem(first_line, f"commit {commit}", raw_names, "is not the raw record's commit"))
    if commits:
        named = [r for r in records if any(_same_commit(c, r.fields.get("commit")) for c in commits)]
        records = named or records
    numbers = [n for r in records for n in r.numbers]
    for figure in quoted:
        if matches(figure, numbers):
            continue
        others = [f for f in numbers_in if f is not figure]
        if figure.unit == "x" and _ratio_found(figure, others, numbers):
            continue
        problems.append(Problem(figure.line, figure.text, raw_names, "not found in the raw results"))
    return problems


def check(readme: Path, root: Path | None = None) -> list[Problem]:
    """Every problem of a README (links resolved from its folder, else from ``root``)."""
    root = root or readme.parent
    problems: list[Problem] = []
    for sentence in sentences(readme.read_text()):
        problems.extend(check_sentence(sentence, readme.parent, root))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("readme", nargs="?", type=Path, default=REPO / "README.md", help="default: the checkout's")
    readme = parser.parse_args(argv).readme
    if not readme.is_file():
        parser.error(f"{readme}: no such file")
    problems = check(readme, REPO)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{readme.name}: every cited figure found in its raw results")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
