"""Sentence embeddings from token states: the one pooling every textal transformer model uses.

Mean over real tokens (padding masked out), then L2-normalised, so dot products are cosines and
the frozen encoder and a fine-tuned classifier's ``embed`` give comparable vectors.
"""

from __future__ import annotations

import torch

POOLING = "mean-l2.v1"  # part of the embedding cache key: a changed pooling gets a new name


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Attention-masked mean of ``hidden`` (batch, tokens, dim), L2-normalised, as float32 (batch, dim)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * mask).sum(dim=1)
    counts = mask.sum(dim=1).clamp(min=1.0)
    pooled = (summed / counts).float()
    return torch.nn.functional.normalize(pooled, p=2.0, dim=1)
