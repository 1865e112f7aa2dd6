"""pipeline/sources/gensim_model.py: gensim pickles are read only when trusted explicitly."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.errors import ConfigError, DataError
from pipeline.sources.gensim_model import read_gensim_model


def test_refused_without_trust_and_read_with_it(tmp_path):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(3)
    kv.add_vectors(["a", "b"], np.array([[1, 2, 3], [4, 5, 6]], np.float32))
    kv.save(str(tmp_path / "v.kv"))
    with pytest.raises(ConfigError, match="trust_pickle") as info:
        read_gensim_model(tmp_path / "v.kv")
    assert info.value.exit_code == 78
    vecs = read_gensim_model(tmp_path / "v.kv", trust_pickle=True)
    assert vecs.words == ("a", "b")
    assert np.array_equal(vecs.matrix, np.array([[1, 2, 3], [4, 5, 6]], np.float32))


def test_a_pickle_is_never_run_by_the_vector_readers(tmp_path):
    import pickle

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "v.bin").write_bytes(pickle.dumps(Evil()))
    from pipeline.sources.readers import read_vectors

    with pytest.raises(DataError):
        read_vectors(tmp_path / "v.bin")
    assert not marker.exists()


def test_not_a_gensim_file(tmp_path):
    (tmp_path / "x.kv").write_text("hello")
    with pytest.raises(DataError, match="not a gensim save file"):
        read_gensim_model(tmp_path / "x.kv", trust_pickle=True)
