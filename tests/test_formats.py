"""Extra export formats: safetensors, word2vec text/binary, TensorBoard projector.

The main proofs run on an artifact the whole pipeline builds from gensim's
bundled GloVe sample with every format requested; the edge cases (spaces in
tokens, max_rows, a missing optional package) use tiny hand-made matrices.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import ExportConfig
from pipeline.errors import ConfigError, DataError
from pipeline.export import write_artifacts
from pipeline.formats import W2V_SPACE, exported_rows, write_projector, write_word2vec, writers_for
from pipeline.matrix import EmbeddingMatrix

ALL_FORMATS = ("safetensors", "word2vec", "word2vec-binary", "projector")
HAVE_SAFETENSORS = importlib.util.find_spec("safetensors") is not None
needs_safetensors = pytest.mark.skipif(not HAVE_SAFETENSORS, reason="the optional safetensors package is not installed")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The glove_run config with every extra format: (folder, manifest, weights, tokens).

    Without the optional safetensors package the others are still exported and tested.
    """
    from pipeline.config import load_config
    from pipeline.runner import run

    out = tmp_path_factory.mktemp("formats")
    config = load_config(None, [
        f"export.dir={json.dumps(str(out))}",
        'name="glove"',
        'vectors.source="file"',
        'vectors.path="gensim-test:test_glove.txt"',
        "vocab.lowercase=true",
        "vocab.min_count=3",
        "evaluate.similarity=[]",
        'evaluate.analogies=""',
        f"export.formats={json.dumps([f for f in ALL_FORMATS if f != 'safetensors' or HAVE_SAFETENSORS])}",
    ])
    result = run(config)
    folder = result.artifact_dir
    weights = np.load(folder / "embeddings.npy", allow_pickle=False)
    tokens = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
    return folder, result.manifest, weights, tokens


def tiny_matrix(tokens: list[str], dim: int = 3) -> EmbeddingMatrix:
    """Row i = [i, i + 0.5, -i] (row 0, padding, zeros): easy to check by hand."""
    n = len(tokens)
    weights = np.array([[i, i + 0.5, -i] for i in range(n)], dtype=np.float32)[:, :dim]
    weights[0] = 0
    return EmbeddingMatrix(weights, tuple(tokens), np.r_[False, False, np.ones(n - 2, bool)], (1,))


# --------------------------------------------------------------------------- the manifest


def test_every_requested_format_is_in_the_manifest_with_its_sha256(exported):
    folder, manifest, _, _ = exported
    expected = {"vectors.w2v.txt", "vectors.w2v.bin", "projector/vectors.tsv", "projector/metadata.tsv"}
    if HAVE_SAFETENSORS:
        expected.add("embeddings.safetensors")
    assert expected <= set(manifest["files"])
    for name in expected:
        data = (folder / name).read_bytes()
        assert manifest["files"][name] == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    on_disk = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk["files"] == manifest["files"]


@needs_safetensors
def test_extra_files_have_the_same_permissions_as_the_matrix(exported):
    folder = exported[0]
    mode = (folder / "embeddings.npy").stat().st_mode
    assert (folder / "embeddings.safetensors").stat().st_mode == mode


# --------------------------------------------------------------------------- safetensors


@needs_safetensors
def test_safetensors_holds_the_matrix_and_the_row_conventions(exported):
    from safetensors import safe_open
    from safetensors.numpy import load_file

    folder, manifest, weights, _ = exported
    tensors = load_file(str(folder / "embeddings.safetensors"))
    assert list(tensors) == ["embeddings"]
    assert tensors["embeddings"].dtype == np.float32
    np.testing.assert_array_equal(tensors["embeddings"], weights)
    with safe_open(str(folder / "embeddings.safetensors"), framework="np") as fh:
        meta = fh.metadata()
    assert meta["padding_idx"] == str(manifest["padding_idx"]) == "0"
    assert meta["oov_idx"] == str(manifest["oov_idx"]) == "1"
    assert (meta["input_dim"], meta["output_dim"]) == (str(weights.shape[0]), str(weights.shape[1]))


def test_safetensors_requested_without_the_package_is_a_config_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)  # makes `import safetensors` raise ImportError
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ConfigError, match="pip install safetensors"):
        writers_for(ExportConfig(formats=("word2vec", "safetensors")))
    assert list(writers_for(ExportConfig(formats=("word2vec",)))) == ["word2vec"]  # not needed otherwise


def test_unknown_format_is_a_config_error():
    with pytest.raises(ConfigError, match="'export.formats'.*Got 'hdf5'"):
        writers_for(ExportConfig(formats=("hdf5",)))


# --------------------------------------------------------------------------- word2vec


@pytest.mark.parametrize("name, binary", [("vectors.w2v.txt", False), ("vectors.w2v.bin", True)])
def test_word2vec_loads_back_in_gensim_equal_to_the_matrix_rows(exported, name, binary):
    from gensim.models import KeyedVectors

    folder, _, weights, tokens = exported
    kv = KeyedVectors.load_word2vec_format(str(folder / name), binary=binary)
    # every row but padding (row 0), in row order: entry k is row k + 1
    assert kv.index_to_key == tokens[1:]
    assert kv.index_to_key[0] == "[UNK]"
    np.testing.assert_array_equal(kv.vectors, weights[1:])  # exact, text included
    assert kv["the"].tolist() == weights[tokens.index("the")].tolist()


def test_word2vec_tokens_with_spaces_become_no_break_spaces(tmp_path):
    from gensim.models import KeyedVectors

    matrix = tiny_matrix(["[PAD]", "[UNK]", "new york", "tab\there", "café"])
    for binary in (False, True):
        (name,) = write_word2vec(tmp_path, matrix, binary=binary)
        kv = KeyedVectors.load_word2vec_format(str(tmp_path / name), binary=binary)
        assert kv.index_to_key == ["[UNK]", f"new{W2V_SPACE}york", "tab\there", "café"]
        assert kv[f"new{W2V_SPACE}york"].tolist() == [2.0, 2.5, -2.0]


def test_word2vec_refuses_a_token_the_space_rule_makes_collide(tmp_path):
    matrix = tiny_matrix(["[PAD]", "[UNK]", "new york", f"new{W2V_SPACE}york"])
    with pytest.raises(DataError, match="row 3 .* row 2 already uses") as exc:
        write_word2vec(tmp_path, matrix, binary=False)
    # The file named is the one that cannot be written, not a published file with something wrong in it.
    assert str(exc.value).startswith(f"{tmp_path / 'vectors.w2v.txt'}: cannot be written: row 3 ")


@pytest.mark.parametrize("token", ["two\nlines", "carriage\rreturn"])
def test_word2vec_refuses_a_token_with_a_line_break(tmp_path, token):
    # A tokenizer's word_index may hold any string; one word a line cannot.
    matrix = tiny_matrix(["[PAD]", "[UNK]", "fine", token])
    with pytest.raises(DataError, match="row 3 .* holds a line break"):
        write_word2vec(tmp_path, matrix, binary=True)


def test_word2vec_text_golden(tmp_path):
    matrix = tiny_matrix(["[PAD]", "[UNK]", "cat"])
    write_word2vec(tmp_path, matrix, binary=False)
    assert (tmp_path / "vectors.w2v.txt").read_text(encoding="utf-8") == "2 3\n[UNK] 1.0 1.5 -1.0\ncat 2.0 2.5 -2.0\n"


# --------------------------------------------------------------------------- projector


def test_projector_files_have_the_documented_row_counts_and_order(exported):
    folder, _, weights, tokens = exported
    vectors = np.loadtxt(folder / "projector/vectors.tsv", delimiter="\t", dtype=np.float32)
    metadata = (folder / "projector/metadata.tsv").read_text(encoding="utf-8").split("\n")
    assert metadata[-1] == ""  # the file ends with a newline
    metadata = metadata[:-1]
    # no header (one column), the padding row left out, the rest in row order
    assert len(metadata) == len(vectors) == weights.shape[0] - 1
    assert metadata == tokens[1:]
    np.testing.assert_array_equal(vectors, weights[1:])  # %.9g round-trips float32


def test_projector_max_rows_keeps_the_first_rows_after_padding(tmp_path):
    matrix = tiny_matrix(["[PAD]", "[UNK]", "a", "b", "c"])
    names = write_projector(tmp_path, matrix, max_rows=2)
    assert names == ["projector/vectors.tsv", "projector/metadata.tsv"]
    assert (tmp_path / "projector/metadata.tsv").read_text(encoding="utf-8") == "[UNK]\na\n"
    assert (tmp_path / "projector/vectors.tsv").read_text(encoding="utf-8") == "1\t1.5\t-1\n2\t2.5\t-2\n"


def test_projector_max_rows_from_the_config_through_write_artifacts(tmp_path):
    matrix = tiny_matrix(["[PAD]", "[UNK]", "a", "b\tc", "d"])
    manifest = write_artifacts(
        tmp_path / "run", matrix, report={}, report_md="",
        manifest={"input_dim": 5, "output_dim": 3, "padding_idx": 0, "oov_idx": 1},
        extra_writers=writers_for(ExportConfig(formats=("projector",), projector_max_rows=3)),
    )
    assert {"projector/vectors.tsv", "projector/metadata.tsv"} <= set(manifest["files"])
    text = (tmp_path / "run/projector/metadata.tsv").read_text(encoding="utf-8")
    assert text == "[UNK]\na\nb c\n"  # a tab inside a token would split the column: written as a space
    assert len((tmp_path / "run/projector/vectors.tsv").read_text(encoding="utf-8").splitlines()) == 3


def test_exported_rows_leave_out_the_padding_row_wherever_it_is():
    matrix = EmbeddingMatrix(np.zeros((4, 2), np.float32), ("a", "[UNK]", "[PAD]", "b"), np.zeros(4, bool), (1,),
                             padding_idx=2, oov_idx=1)
    assert exported_rows(matrix).tolist() == [0, 1, 3]
    assert exported_rows(matrix, max_rows=2).tolist() == [0, 1]


def test_writers_keep_the_listed_order():
    assert list(writers_for(ExportConfig(formats=("projector", "word2vec-binary", "word2vec")))) == [
        "projector", "word2vec-binary", "word2vec",
    ]


@needs_safetensors
def test_a_writer_returns_names_relative_to_the_folder(tmp_path):
    matrix = tiny_matrix(["[PAD]", "[UNK]", "a"])
    for fmt, writer in writers_for(ExportConfig(formats=ALL_FORMATS)).items():
        for name in writer(tmp_path, matrix):
            assert not Path(name).is_absolute() and (tmp_path / name).is_file(), (fmt, name)


def test_projector_labels_stay_one_per_vector_with_blank_tokens(tmp_path):
    # TensorBoard's projector skips blank metadata lines: a token of spaces would shift every later label.
    tokens = ["[PAD]", "[UNK]", " ", "a", "\t", "\ufeff", "b"]
    write_projector(tmp_path, tiny_matrix(tokens))
    lines = (tmp_path / "projector/metadata.tsv").read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and len(lines) - 1 == len(tokens) - 1  # one line a vector, padding left out
    assert all(line.strip("\ufeff").strip() for line in lines[:-1])
    assert lines[:-1] == ["[UNK]", "' '", "a", "'\\t'", "'\\ufeff'", "b"]


def test_a_format_error_names_the_published_path_not_the_temporary_folder(tmp_path):
    matrix = tiny_matrix(["[PAD]", "[UNK]", "new york", f"new{W2V_SPACE}york"])
    with pytest.raises(DataError, match="row 3 .* row 2 already uses") as exc:
        write_artifacts(tmp_path / "run", matrix, report={}, report_md="", manifest={},
                        extra_writers=writers_for(ExportConfig(formats=("word2vec",))))
    assert exc.value.path == str(tmp_path / "run" / "vectors.w2v.txt")
    assert list(tmp_path.iterdir()) == []  # nothing published, the temporary folder removed
