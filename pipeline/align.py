"""Matching vocabulary tokens to source vectors through ordered fallback rules.

STUB: dataclass contract only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class Alignment:
    """For each vocabulary row, which source vector (if any) it takes, and by which rule.

    ``source_index[i]`` is the row of ``Vectors.matrix`` for vocab row ``i``, or -1.
    ``rule[i]`` is the rule name that matched ("exact", "lower", ...), "reserved"
    for reserved rows, or None when nothing matched.
    ``report`` holds: type coverage, weighted coverage (None without counts),
    counts by rule, top missing tokens [(token, count)], ...
    """

    source_index: np.ndarray
    rule: tuple[str | None, ...]
    report: dict[str, Any] = field(default_factory=dict)
