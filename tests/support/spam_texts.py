"""Tiny hand-written spam and ham messages for the unit tests: a train/test split of corpora for the simulation
learners, and six labelled messages the models fit on."""

from __future__ import annotations

from textal.data.corpus import Corpus

SPAM = [
    "win cash now",
    "free prize call",
    "claim your reward",
    "you won a voucher",
    "urgent prize waiting",
    "cash bonus today",
    "free entry win",
    "txt to claim",
    "winner selected call",
    "exclusive free offer",
    "free cash prize",
    "call to claim now",
]
HAM = [
    "see you soon",
    "lunch at noon?",
    "meeting moved",
    "call me later",
    "running late sorry",
    "how was the trip",
    "dinner tonight?",
    "thanks for today",
    "good morning",
    "pick up milk",
    "home later tonight",
    "love you see you",
]

MESSAGES = [
    "win cash now",
    "free prize, call now",
    "see you soon",
    "lunch at noon?",
    "claim your reward",
    "meeting moved",
]
MESSAGE_LABELS = ["spam", "spam", "ham", "ham", "spam", "ham"]


def corpus(texts: list[str], labels: list[str], name: str) -> Corpus:
    """A single-label ham/spam corpus of ``texts``, its rows numbered from 0."""
    return Corpus(list(texts), list(labels), ("ham", "spam"), False, name, list(range(len(texts))))


def spam_split(train_each: int, test_each: int = 2) -> tuple[Corpus, Corpus]:
    """The first ``train_each`` spam and ham messages to train on, the next ``test_each`` of each to test on."""
    end = train_each + test_each
    train = corpus(SPAM[:train_each] + HAM[:train_each], ["spam"] * train_each + ["ham"] * train_each, "train")
    test = corpus(SPAM[train_each:end] + HAM[train_each:end], ["spam"] * test_each + ["ham"] * test_each, "test")
    return train, test


def labelled(times: int) -> tuple[list[str], list[str]]:
    """Six labelled messages, half spam, repeated ``times``: the texts and their labels, for a model to fit on."""
    return MESSAGES * times, MESSAGE_LABELS * times
