"""The project vocabulary: which tokens the model will see, and at which row.

STUB: dataclass contract only; the reading functions are being written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """Tokens in row order: ``tokens[i]`` is row ``i`` of the matrix.

    Row ``padding_idx`` (0) is padding, row ``oov_idx`` the OOV token. ``counts[i]``
    is the corpus/file count of ``tokens[i]`` or None where unknown (reserved rows,
    or a source without counts). ``reserved`` holds the row indices that are not
    words (padding, OOV, gap fillers). ``stats`` has figures for the report
    (duplicates skipped, empty lines, gaps filled, truncated by max_size ...).
    """

    tokens: tuple[str, ...]
    counts: tuple[int | None, ...]
    padding_idx: int = 0
    oov_idx: int = 1
    reserved: frozenset[int] = frozenset({0, 1})
    source: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.tokens)
