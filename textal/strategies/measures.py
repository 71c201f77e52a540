"""Per-item informativeness measures over probabilities: pure functions, higher = more informative.

Single-label inputs are (n, k) rows summing to one; multi-label inputs are (n, k) independent
per-label probabilities, whose per-label (binary) figures are aggregated as each function states.
Committee inputs are (m, n, k): m members' probabilities for the same items.
All measures are symmetric in the classes, so reordering the columns leaves them unchanged.
"""

from __future__ import annotations

import numpy as np


def least_confidence(proba: np.ndarray, multi_label: bool = False) -> np.ndarray:
    """1 - probability of the predicted class, in [0, 1 - 1/k].

    Multi-label: the mean over labels of 1 - max(p, 1 - p) (how unsure each yes/no decision is), in [0, 0.5].
    """
    p = _floats(proba)
    if multi_label:
        return (1.0 - np.maximum(p, 1.0 - p)).mean(axis=1) if p.shape[1] else np.zeros(len(p))
    return 1.0 - p.max(axis=1)


def margin(proba: np.ndarray, multi_label: bool = False) -> np.ndarray:
    """1 - (p_top1 - p_top2) ("breaking ties"): 1 when the two best classes tie, 0 for a sure call.

    With one class there is no runner-up (p_top2 = 0), so the score is 0. Multi-label: the per-label
    margin is |2p - 1| and the item counts as unsure as its least sure label: 1 - min over labels.
    """
    p = _floats(proba)
    if multi_label:
        return 1.0 - np.abs(2.0 * p - 1.0).min(axis=1)
    if p.shape[1] == 1:
        return np.zeros(len(p))
    top2 = -np.partition(-p, 1, axis=1)[:, :2]
    return 1.0 - (top2[:, 0] - top2[:, 1])


def entropy(proba: np.ndarray, multi_label: bool = False) -> np.ndarray:
    """Shannon entropy divided by log(k), in [0, 1]: 1 for a uniform row, 0 for a one-hot row.

    One class gives 0. Multi-label: the mean over labels of the binary entropy in bits.
    """
    p = _floats(proba)
    if multi_label:
        return _binary_entropy(p).mean(axis=1) if p.shape[1] else np.zeros(len(p))
    k = p.shape[1]
    if k <= 1:
        return np.zeros(len(p))
    return _plogp(p).sum(axis=1) / np.log(k)


def consensus(committee: np.ndarray) -> np.ndarray:
    """The committee's mean probabilities (n, k): the soft vote."""
    return _floats(committee).mean(axis=0)


def vote_entropy(committee: np.ndarray, multi_label: bool = False) -> np.ndarray:
    """Entropy of the members' hard votes, divided by its maximum log(min(m, k)), in [0, 1].

    Zero exactly when every member votes for the same class. A member whose top classes tie
    exactly splits its vote between them, so the result does not depend on the column order.
    Multi-label: per label, members vote yes (p > 0.5), no (p < 0.5) or half each (p = 0.5); the
    binary vote entropies (bits) are averaged over labels.
    """
    c = _floats(committee)
    m, n, k = c.shape
    if multi_label:
        yes = np.where(c > 0.5, 1.0, np.where(c < 0.5, 0.0, 0.5)).mean(axis=0)
        return _binary_entropy(yes).mean(axis=1) if k else np.zeros(n)
    if k <= 1 or m <= 1:
        return np.zeros(n)
    is_top = c >= c.max(axis=2, keepdims=True)
    votes = (is_top / is_top.sum(axis=2, keepdims=True)).mean(axis=0)  # (n, k) vote shares
    return _plogp(votes).sum(axis=1) / np.log(min(m, k))


def kl_to_consensus(committee: np.ndarray, multi_label: bool = False) -> np.ndarray:
    """Mean KL divergence of each member from the consensus, divided by log(m), in [0, 1].

    KL(p_i || mean) is at most log(m) because the mean holds at least p_i / m, so the figure never
    explodes on a member that gives a class (near) zero. This is the committee's mutual
    information between member and label. Multi-label: binary KL per label, averaged over labels.
    """
    c = _floats(committee)
    m, n, k = c.shape
    if m <= 1 or k == 0:
        return np.zeros(n)
    # mean_i KL(p_i || mean) = H(mean) - mean_i H(p_i): one pass of logs, no division
    mean = c.mean(axis=0)
    if multi_label:
        member = (_plogp(c) + _plogp(1.0 - c)).mean(axis=0)
        kl = (_plogp(mean) + _plogp(1.0 - mean) - member).mean(axis=1)
    else:
        kl = _plogp(mean).sum(axis=1) - _plogp(c).sum(axis=2).mean(axis=0)
    return np.clip(kl / np.log(m), 0.0, 1.0)


def _plogp(p: np.ndarray) -> np.ndarray:
    """Elementwise -p log p, with 0 log 0 = 0, in the input's float precision."""
    out = np.zeros_like(p)
    np.log(p, out=out, where=p > 0)
    out *= -p
    return out


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    return (_plogp(p) + _plogp(1.0 - p)) / np.log(2.0)


MEASURES = {
    "least_confidence": least_confidence,
    "margin": margin,
    "entropy": entropy,
}
COMMITTEE_MEASURES = {
    "vote_entropy": vote_entropy,
    "kl_consensus": kl_to_consensus,
}


def _floats(value: np.ndarray) -> np.ndarray:
    """A float array, keeping float32 (large committees stay cheap; scores need no more precision)."""
    arr = np.asarray(value)
    return arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float64)
