"""A pool scored chunk by chunk ranks exactly as the same pool scored at once, by the strategy's batch rules, and
cleans up after itself."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from textal.data.corpus import text_chunks
from textal.errors import DataError
from textal.models.linear import LinearClassifier
from textal.ranking.ranked_pool import merge_shards, rank_chunks, rank_file, ranked_order, score_shard
from textal.ranking.scale import Scorer
from textal.strategies import DEFAULT_STRATEGY, get_strategy
from textal.strategies.selection import select_batch

WORDS = ["win cash", "see you", "free prize", "lunch", "call now"]
# distinct even as near-duplicates (digits all normalise alike, letters do not)
TEXTS = [f"{w} message {chr(97 + i % 26)}{chr(97 + i // 26)}" for i, w in enumerate(WORDS * 9)]
LABELS = ["spam" if t.split()[0] in ("win", "free", "call") else "ham" for t in TEXTS]


@pytest.fixture(scope="module")
def model():
    return LinearClassifier().fit(TEXTS, LABELS)


def chunks(texts, size):
    for start in range(0, len(texts), size):
        yield list(range(start + 2, start + 2 + len(texts[start : start + size]))), texts[start : start + size]


@pytest.mark.parametrize("strategy", ["entropy", "margin", "kmeans.v1", "badge.v1"])
def test_a_pool_ranked_in_chunks_gets_the_scores_and_order_of_one_batch(model, strategy, tmp_path):
    scorer = Scorer(strategy)
    proba = model.predict_proba(TEXTS)
    whole = scorer.informativeness(proba, False, embeddings=model.embed(TEXTS), texts=TEXTS)
    with rank_chunks(model, chunks(TEXTS, 7), strategy, tmp_path) as ranking:
        np.testing.assert_allclose(ranking.scores, whole, atol=1e-6)
        items = list(ranking.ranked(block=4))
    assert [it.score for it in items] == sorted((it.score for it in items), reverse=True)
    assert sorted(it.row for it in items) == list(range(2, 2 + len(TEXTS)))  # every row once, pointing into the file
    for it in items:
        i = it.row - 2
        assert it.text == TEXTS[i] and it.guess == model.decode(proba[i : i + 1])[0]
        np.testing.assert_allclose(it.proba, proba[i], atol=1e-6)


def test_equal_scores_keep_the_pools_order(model, tmp_path):
    same = ["exactly the same text"] * 10
    with rank_chunks(model, chunks(same, 3), "entropy", tmp_path) as ranking:
        assert [it.row for it in ranking.ranked()] == list(range(2, 12))


def test_the_ranked_csv_holds_every_text_once_most_informative_first(model, tmp_path):
    pool = tmp_path / "pool.csv"
    with open(pool, "w", newline="") as fh:
        csv.writer(fh).writerows([["text"], *[[t] for t in TEXTS]])
    with rank_file(model, pool, "entropy", chunk_size=10, scratch=tmp_path) as ranking:
        ranking.write_csv(tmp_path / "out" / "ranked.csv")
    with open(tmp_path / "out" / "ranked.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["rank"]) for r in rows] == list(range(1, len(TEXTS) + 1))
    assert sorted(r["text"] for r in rows) == sorted(TEXTS)
    scores = [float(r["entropy.v1"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert {r["predicted"] for r in rows} <= {"ham", "spam"} and "p_spam" in rows[0]


def test_the_scratch_folder_is_gone_after_close_and_after_a_failure(model, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with rank_chunks(model, chunks(TEXTS, 10), "entropy", scratch) as ranking:
        assert any(scratch.iterdir())
        assert len(ranking) == len(TEXTS)
    assert not any(scratch.iterdir())

    def failing():
        yield from chunks(TEXTS[:10], 5)
        raise DataError("pool.csv: row 12: column 'text' is empty")

    with pytest.raises(DataError, match="row 12"):
        rank_chunks(model, failing(), "entropy", scratch)
    assert not any(scratch.iterdir())


def test_text_chunks_reads_a_file_in_chunks_with_its_row_numbers(tmp_path):
    pool = tmp_path / "pool.csv"
    pool.write_text("id,text\n" + "".join(f"{i},text {i}\n" for i in range(25)))
    got = list(text_chunks(pool, chunk_size=10))
    assert [len(texts) for _, texts in got] == [10, 10, 5]
    assert got[0][0][:2] == [2, 3] and got[2][1][-1] == "text 24"


def test_text_chunks_refuses_an_empty_file_and_a_bad_row_naming_it(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("text\n")
    with pytest.raises(DataError, match="holds no rows"):
        list(text_chunks(empty))
    bad = tmp_path / "bad.csv"
    bad.write_text('text\nfine\n""\n')
    with pytest.raises(DataError, match="row 3"):
        list(text_chunks(bad))
    with pytest.raises(DataError, match="chunk size"):
        list(text_chunks(bad, chunk_size=0))


def test_shards_of_every_other_chunk_merge_into_the_ranking_of_one_process(model, tmp_path):
    parts = list(chunks(TEXTS, 4))
    shards = [tmp_path / "all" / "shard-0", tmp_path / "all" / "shard-1"]
    for i, shard in enumerate(shards):
        score_shard(model, parts[i::2], "margin", shard)
    with (
        rank_chunks(model, iter(parts), "margin", tmp_path) as one,
        merge_shards(tmp_path / "all", shards, list(model.labels_), "margin") as merged,
    ):
        np.testing.assert_array_equal(merged.scores, one.scores)
        assert [(it.row, it.text, it.guess) for it in merged.ranked()] == [
            (it.row, it.text, it.guess) for it in one.ranked()
        ]
        assert merged.strategy == one.strategy
    assert not any(shard.exists() for shard in shards)


@pytest.mark.parametrize("strategy", ["kmeans.v1", DEFAULT_STRATEGY])
def test_shards_of_a_strategy_that_compares_texts_merge_into_the_ranking_of_one_process(model, strategy, tmp_path):
    parts = list(chunks(TEXTS, 4))
    shards = [tmp_path / "all" / "shard-0", tmp_path / "all" / "shard-1"]
    for i, shard in enumerate(shards):
        score_shard(model, parts[i::2], strategy, shard)
    with (
        rank_chunks(model, iter(parts), strategy, tmp_path, batch=6) as one,
        merge_shards(tmp_path / "all", shards, list(model.labels_), strategy, batch=6) as merged,
    ):
        np.testing.assert_allclose(merged.scores, one.scores, atol=1e-6)
        assert [it.row for it in merged.ranked()] == [it.row for it in one.ranked()]


def test_near_duplicates_of_a_higher_ranked_text_come_after_every_distinct_text(model, tmp_path):
    # "call 0800 123 NOW" and "call 0800-124 now" normalise alike: the second is asked only after the rest
    texts = ["CALL 0800 123 NOW to win", "call 0800-124 now to win", "Call 0800 125 now to WIN!", *TEXTS[:12]]
    with rank_chunks(model, chunks(texts, 5), "margin", tmp_path) as ranking:
        items = list(ranking.ranked())
        ranking.write_csv(tmp_path / "ranked.csv")
    firsts = [it for it in items if it.duplicate_of is None]
    repeats = [it for it in items if it.duplicate_of is not None]
    assert len(repeats) == 2 and items[-2:] == repeats
    lead = next(it for it in firsts if it.text.casefold().startswith("call 0800"))
    assert {it.duplicate_of for it in repeats} == {lead.row}
    assert lead.score >= max(it.score for it in repeats)
    assert [it.score for it in firsts] == sorted((it.score for it in firsts), reverse=True)
    with open(tmp_path / "ranked.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["duplicate_of"] for r in rows[-2:]] == [str(lead.row)] * 2 and rows[0]["duplicate_of"] == ""


def test_a_batch_strategy_ranks_its_own_next_batch_first(model, tmp_path):
    n = 5
    proba, vectors = model.predict_proba(TEXTS), model.embed(TEXTS)
    with rank_chunks(model, chunks(TEXTS, 8), DEFAULT_STRATEGY, tmp_path, batch=n) as ranking:
        head = [it.row - 2 for it in ranking.ranked(stop=n)]
        rest = [it.score for it in ranking.ranked(first=n)]
        # the batch's own scoring of the pool gives the figures a scorer gives the same pool
        whole = Scorer(DEFAULT_STRATEGY).informativeness(proba, False, embeddings=vectors, texts=TEXTS)
        np.testing.assert_allclose(ranking.scores, whole, atol=1e-6)
    expected = select_batch(
        get_strategy(DEFAULT_STRATEGY, random_fraction=0.0),
        n,
        np.random.default_rng(0),
        labelled=np.zeros(len(TEXTS), dtype=bool),
        proba=proba,
        embeddings=vectors,
    )
    assert head == list(expected.indices)
    assert rest == sorted(rest, reverse=True)


def test_ranked_order_puts_the_batch_first_then_distinct_groups_then_repeats():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    groups = np.array([0, 1, 0, 3, 1])  # rows 2 and 4 repeat rows 0 and 1
    order, first = ranked_order(scores, groups, np.array([3]))
    assert order.tolist() == [3, 0, 1, 2, 4]
    assert first.tolist() == [-1, -1, 0, -1, 1]
    order, first = ranked_order(scores, groups, np.array([2]))  # the batch's text leads its group
    assert order.tolist() == [2, 1, 3, 0, 4] and first[0] == 2
