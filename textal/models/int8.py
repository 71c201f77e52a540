"""Dynamic int8 quantisation of a transformer for CPU inference.

The weights of every ``Linear`` layer are stored as int8 and activations are quantised on the fly
(torch's dynamic quantisation): no calibration data, the same inputs and outputs. It is for
inference only, on the CPU; training and GPUs keep the float32 network. Its agreement with float32
is measured in benchmarks/predict_throughput.
"""

from __future__ import annotations

import copy
import warnings

import torch


def quantized_copy(net: torch.nn.Module) -> torch.nn.Module:
    """An int8 copy of ``net`` (a CPU module) for inference, in eval mode; ``net`` itself is left as it is."""
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        # torch marks its quantised tensor types deprecated (for torchao); they are what 2.13 ships and runs.
        warnings.simplefilter("ignore", (DeprecationWarning, UserWarning, FutureWarning))
        return quantize_dynamic(copy.deepcopy(net).cpu().eval(), {torch.nn.Linear}, dtype=torch.qint8)
