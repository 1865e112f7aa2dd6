"""The examples in the package's docstrings, run against the installed package.

They document behaviour (labels, paths, ranks, parsing rules), so they must
stay true. Collected here rather than with ``--doctest-modules`` on
``pipeline/``: CI installs the package, and pytest would import the source
files a second time beside the installed ones.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import pipeline

# __main__ runs the CLI when imported
MODULES = sorted(m.name for m in pkgutil.walk_packages(pipeline.__path__, "pipeline.") if m.name != "pipeline.__main__")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (see the output above)"
