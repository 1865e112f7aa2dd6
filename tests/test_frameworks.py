"""keras_embedding / torch_embedding, proven with real Keras 3 (torch backend) and real PyTorch.

The artifacts are built by the whole pipeline from gensim's bundled data
(``glove_run``: the 50-d GloVe sample; ``trained_run``: word2vec trained on the
Lee corpus). Skipped cleanly when the ``frameworks`` extra is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from pipeline.errors import ConfigError, DataError
from pipeline.export import write_artifacts
from pipeline.sources.files import file_sha256 as sha256_of
from pipeline.matrix import EmbeddingMatrix

RUNS = ["glove_run", "trained_run"]

# Keras's torch backend calls np.array(tensor) in its own code (numpy 2 warns); not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    if keras.config.backend() != "torch":
        pytest.skip(f"these tests run Keras on the torch backend, not {keras.config.backend()}")
    return keras


def batch_ids(n_rows: int) -> np.ndarray:
    """A batch with padding, OOV, the last row and a repeat."""
    return np.array([[2, 3, 0, 0], [n_rows - 1, 1, 2, 5]], dtype=np.int64)


def expected_source_rows(result) -> tuple[np.ndarray, np.ndarray]:
    """(row ids, source vectors) for the matched tokens that the source holds under the same spelling."""
    index = {w: i for i, w in enumerate(result.vectors.words)}
    rows = [r for r in np.flatnonzero(result.matrix.matched) if result.matrix.tokens[r] in index]
    source = np.asarray(result.vectors.matrix)[[index[result.matrix.tokens[r]] for r in rows]]
    return np.array(rows[:200], dtype=np.int64), source[:200]


def copy_artifact(result, tmp_path):
    """A private copy to tamper with (the session fixtures are shared)."""
    dst = tmp_path / "copy"
    shutil.copytree(result.artifact_dir, dst)
    return dst


def rewrite_manifest(folder):
    """Give the manifest the sha256 of the (changed) matrix, so only the other checks can catch it."""
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["files"]["embeddings.npy"]["sha256"] = sha256_of(folder / "embeddings.npy")
    path.write_text(json.dumps(manifest), encoding="utf-8")


# --------------------------------------------------------------------------- no eager imports


def test_importing_pipeline_imports_neither_keras_nor_torch():
    code = (
        "import sys, pipeline, pipeline.frameworks, pipeline.indexer, pipeline.formats;"
        "print(sorted(m for m in ('keras', 'torch', 'tensorflow', 'safetensors') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("run", RUNS)
def test_torch_outputs_are_the_matrix_rows_and_the_source_vectors(torch, run, request):
    from pipeline.frameworks import torch_embedding

    result = request.getfixturevalue(run)
    weights = np.load(result.artifact_dir / "embeddings.npy", allow_pickle=False)
    emb = torch_embedding(result.artifact_dir)
    assert isinstance(emb, torch.nn.Embedding)
    assert (emb.num_embeddings, emb.embedding_dim) == weights.shape
    assert emb.padding_idx == 0 and emb.weight.dtype == torch.float32 and not emb.weight.requires_grad
    ids = batch_ids(weights.shape[0])
    with torch.no_grad():
        out = emb(torch.from_numpy(ids)).numpy()
    np.testing.assert_array_equal(out, weights[ids])
    rows, source = expected_source_rows(result)
    assert len(rows) > 20
    with torch.no_grad():
        np.testing.assert_array_equal(emb(torch.from_numpy(rows)).numpy(), source)


@pytest.mark.parametrize("run", RUNS)
def test_keras_outputs_are_the_matrix_rows_and_the_source_vectors(keras, run, request):
    from pipeline.frameworks import keras_embedding

    result = request.getfixturevalue(run)
    weights = np.load(result.artifact_dir / "embeddings.npy", allow_pickle=False)
    layer = keras_embedding(result.artifact_dir)
    assert isinstance(layer, keras.layers.Embedding)
    assert (layer.input_dim, layer.output_dim) == weights.shape
    assert not layer.trainable and layer.mask_zero
    ids = batch_ids(weights.shape[0])
    out = keras.ops.convert_to_numpy(layer(ids))
    np.testing.assert_array_equal(out, weights[ids])
    mask = keras.ops.convert_to_numpy(layer.compute_mask(ids))
    np.testing.assert_array_equal(mask, ids != 0)
    rows, source = expected_source_rows(result)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(rows)), source)


# --------------------------------------------------------------------------- training


def test_torch_frozen_embedding_is_unchanged_by_a_training_step(torch, glove_run):
    from pipeline.frameworks import torch_embedding

    emb = torch_embedding(glove_run.artifact_dir, freeze=True)
    before = emb.weight.detach().clone()
    head = torch.nn.Linear(emb.embedding_dim, 1)
    opt = torch.optim.SGD([*emb.parameters(), *head.parameters()], lr=1.0)
    ids = torch.from_numpy(batch_ids(emb.num_embeddings))
    loss = head(emb(ids).mean(dim=1)).pow(2).sum() + 1.0
    loss.backward()
    head_before = head.weight.detach().clone()
    opt.step()
    assert emb.weight.grad is None
    assert torch.equal(emb.weight, before)
    assert not torch.equal(head.weight, head_before)  # the step did happen


def test_torch_trainable_embedding_gives_the_padding_row_zero_gradient(torch, glove_run):
    from pipeline.frameworks import torch_embedding

    emb = torch_embedding(glove_run.artifact_dir, freeze=False)
    assert emb.weight.requires_grad
    head = torch.nn.Linear(emb.embedding_dim, 1)
    ids = torch.from_numpy(batch_ids(emb.num_embeddings))
    head(emb(ids).sum(dim=1)).pow(2).sum().add(1.0).backward()
    grad = emb.weight.grad
    assert torch.count_nonzero(grad[0]) == 0  # padding row: zero although id 0 is in the batch
    assert torch.count_nonzero(grad[2]) > 0 and torch.count_nonzero(grad[1]) > 0
    torch.optim.SGD(emb.parameters(), lr=1.0).step()
    assert torch.count_nonzero(emb.weight[0]) == 0


def test_keras_frozen_embedding_is_unchanged_by_a_training_step(keras, glove_run):
    from pipeline.frameworks import keras_embedding

    layer = keras_embedding(glove_run.artifact_dir, trainable=False)
    model = tiny_keras_model(keras, layer)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse")
    before = layer.get_weights()[0].copy()
    dense_before = model.layers[-1].get_weights()[0].copy()
    ids = batch_ids(layer.input_dim)
    model.train_on_batch(ids, np.ones((2, 1), np.float32))
    np.testing.assert_array_equal(layer.get_weights()[0], before)
    assert not np.array_equal(model.layers[-1].get_weights()[0], dense_before)


def tiny_keras_model(keras, layer):
    inputs = keras.Input(shape=(None,), dtype="int64")
    x = layer(inputs)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


# --------------------------------------------------------------------------- saving


def test_keras_model_saves_about_the_matrix_size_and_loads_back(keras, glove_run, tmp_path):
    from pipeline.frameworks import keras_embedding

    layer = keras_embedding(glove_run.artifact_dir)
    model = tiny_keras_model(keras, layer)
    model.compile(optimizer="adam", loss="mse")
    ids = batch_ids(layer.input_dim)
    model.train_on_batch(ids, np.ones((2, 1), np.float32))  # optimizer state exists, none for the frozen matrix
    path = tmp_path / "model.keras"
    model.save(path)
    matrix_bytes = np.load(glove_run.artifact_dir / "embeddings.npy").nbytes
    ratio = path.stat().st_size / matrix_bytes
    assert ratio < 1.5, ratio
    with zipfile.ZipFile(path) as zf:
        config = zf.read("config.json").decode("utf-8")
    assert len(config) < 20_000  # the matrix is in model.weights.h5 only, not in the config
    assert '"Constant"' not in config

    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0))
    np.testing.assert_array_equal(loaded.layers[1].get_weights()[0], layer.get_weights()[0])
    assert not loaded.layers[1].trainable and loaded.layers[1].mask_zero


def test_keras_trainable_layer(keras, glove_run):
    from pipeline.frameworks import keras_embedding

    layer = keras_embedding(glove_run.artifact_dir, trainable=True, mask_zero=False, name="words")
    assert layer.trainable and not layer.mask_zero and layer.name == "words"
    assert len(layer.trainable_weights) == 1


# --------------------------------------------------------------------------- memory


def test_torch_weight_owns_its_memory(torch, glove_run, tmp_path):
    from pipeline.frameworks import torch_embedding

    folder = copy_artifact(glove_run, tmp_path)
    original = np.load(folder / "embeddings.npy")
    a, b = torch_embedding(folder), torch_embedding(folder)
    assert a.weight.untyped_storage().data_ptr() != b.weight.untyped_storage().data_ptr()
    with torch.no_grad():
        a.weight[2] += 1.0
    np.testing.assert_array_equal(b.weight.numpy(), original)  # another load is unaffected
    np.testing.assert_array_equal(np.load(folder / "embeddings.npy"), original)  # so is the file
    np.testing.assert_array_equal(torch_embedding(folder).weight.numpy(), original)
    # and the other way: overwriting the file after loading leaves the weight as it was
    np.save(folder / "embeddings.npy", np.zeros_like(original))
    np.testing.assert_array_equal(b.weight.numpy(), original)


# --------------------------------------------------------------------------- refusing bad artifacts


def loader(framework: str):
    """The loader of ``framework``, or a clean skip when it is not installed."""
    from pipeline.frameworks import keras_embedding, torch_embedding

    pytest.importorskip("torch")  # the Keras tests run on the torch backend
    if framework == "keras":
        pytest.importorskip("keras")
        return keras_embedding
    return torch_embedding


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_a_tampered_matrix_is_refused(framework, glove_run, tmp_path):
    load = loader(framework)
    folder = copy_artifact(glove_run, tmp_path)
    weights = np.load(folder / "embeddings.npy")
    weights[5, 3] += 1e-3  # one value
    np.save(folder / "embeddings.npy", weights)
    with pytest.raises(DataError, match="sha256 .* does not match the manifest") as exc:
        load(folder)
    assert str(folder / "embeddings.npy") in str(exc.value)
    assert exc.value.exit_code == 65


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_a_wrong_shape_is_refused(framework, glove_run, tmp_path):
    load = loader(framework)
    folder = copy_artifact(glove_run, tmp_path)
    weights = np.load(folder / "embeddings.npy")
    np.save(folder / "embeddings.npy", weights[:-1])
    rewrite_manifest(folder)  # a matching hash: only the shape gives it away
    n, d = weights.shape
    message = rf"matrix is float32 \({n - 1}, {d}\), the manifest says float32 \({n}, {d}\)"
    with pytest.raises(DataError, match=message) as exc:
        load(folder)
    assert "embeddings.npy" in str(exc.value)


@pytest.mark.parametrize("framework", ["torch", "keras", "numpy"])
def test_a_header_claiming_a_huge_matrix_is_refused_before_anything_is_allocated(framework, glove_run, tmp_path):
    # A 200-byte file whose .npy header says 10**9 x 1000 float32 (4 TB), with a matching sha256 in the
    # manifest: numpy's loader allocated the whole array first, so this was "out of memory" (exit 1).
    from pipeline.artifacts import load_weights

    load = (lambda f: load_weights(f)) if framework == "numpy" else loader(framework)
    folder = copy_artifact(glove_run, tmp_path)
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**9, 1000)}
    with open(folder / "embeddings.npy", "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        fh.write(b"\0" * 64)
    rewrite_manifest(folder)
    n, d = np.load(glove_run.artifact_dir / "embeddings.npy", mmap_mode="r").shape
    with pytest.raises(DataError, match=rf"matrix is float32 \(1000000000, 1000\), the manifest says float32 \({n}, {d}\)"):
        load(folder)


@pytest.mark.parametrize("name", ["embeddings.npy", "vocab.txt"])
def test_a_file_the_manifest_lists_no_sha256_for_is_refused_naming_the_manifest(glove_run, tmp_path, name):
    # The message had been "sha256 1a2b... does not match the manifest's None...".
    from pipeline.artifacts import load_artifact

    folder = copy_artifact(glove_run, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    del manifest["files"][name]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(DataError, match=f"the manifest lists no sha256 for {name} ") as exc:
        load_artifact(folder)
    assert exc.value.path == str(folder / "manifest.json") and "None" not in str(exc.value)


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_a_non_zero_padding_row_is_refused(framework, glove_run, tmp_path):
    load = loader(framework)
    folder = copy_artifact(glove_run, tmp_path)
    weights = np.load(folder / "embeddings.npy")
    weights[0, 0] = 0.5
    np.save(folder / "embeddings.npy", weights)
    rewrite_manifest(folder)
    with pytest.raises(DataError, match="padding row 0 is not all zeros"):
        load(folder)


def test_mask_zero_needs_padding_at_row_zero(keras, tmp_path):
    from pipeline.frameworks import keras_embedding

    weights = np.ones((4, 2), np.float32)
    weights[3] = 0
    matrix = EmbeddingMatrix(weights, ("[UNK]", "a", "b", "[PAD]"), np.zeros(4, bool), (0,), padding_idx=3, oov_idx=0)
    write_artifacts(tmp_path / "run", matrix, report={}, report_md="",
                    manifest={"input_dim": 4, "output_dim": 2, "padding_idx": 3, "oov_idx": 0})
    with pytest.raises(ConfigError, match="padding row is 3"):
        keras_embedding(tmp_path / "run")
    layer = keras_embedding(tmp_path / "run", mask_zero=False)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(np.array([[3, 1]]))), [[[0, 0], [1, 1]]])


def test_torch_padding_idx_comes_from_the_manifest(torch, tmp_path):
    from pipeline.frameworks import torch_embedding

    weights = np.ones((4, 2), np.float32)
    weights[3] = 0
    matrix = EmbeddingMatrix(weights, ("[UNK]", "a", "b", "[PAD]"), np.zeros(4, bool), (0,), padding_idx=3, oov_idx=0)
    write_artifacts(tmp_path / "run", matrix, report={}, report_md="",
                    manifest={"input_dim": 4, "output_dim": 2, "padding_idx": 3, "oov_idx": 0})
    assert torch_embedding(tmp_path / "run").padding_idx == 3
    with pytest.raises(ConfigError, match="padding_idx from manifest.json"):
        torch_embedding(tmp_path / "run", padding_idx=0)


@pytest.mark.parametrize("module, name", [("keras", "keras_embedding"), ("torch", "torch_embedding")])
def test_a_missing_framework_is_a_config_error_saying_what_to_install(module, name, glove_run, monkeypatch):
    import pipeline.frameworks

    monkeypatch.setitem(sys.modules, module, None)  # makes `import <module>` raise ImportError
    with pytest.raises(ConfigError, match=r"pip install 'embpipe\[frameworks\]'"):
        getattr(pipeline.frameworks, name)(glove_run.artifact_dir)
