"""The ``(input_dim, output_dim)`` float32 embedding matrix.

STUB: dataclass contract only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class EmbeddingMatrix:
    """``weights[i]`` is the vector of ``tokens[i]``.

    ``matched`` is a bool mask of rows that took a source vector; ``initialised``
    the row indices that got an OOV initialisation (including the OOV row);
    the padding row is all zeros. ``info`` has oov_init, reduction details, ...
    """

    weights: np.ndarray
    tokens: tuple[str, ...]
    matched: np.ndarray
    initialised: tuple[int, ...]
    padding_idx: int = 0
    oov_idx: int = 1
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def input_dim(self) -> int:
        return int(self.weights.shape[0])

    @property
    def output_dim(self) -> int:
        return int(self.weights.shape[1])
