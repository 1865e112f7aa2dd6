"""Loading an exported matrix straight into a Keras or PyTorch embedding layer.

Use :func:`keras_embedding` or :func:`torch_embedding` on an artifact folder
written by ``embpipe run``; both check the folder first (the sha256 of
``embeddings.npy`` against ``manifest.json``, its shape, a zero padding row,
see :func:`pipeline.artifacts.load_weights`) and refuse a tampered or
half-copied matrix with a :class:`~pipeline.errors.DataError` naming the file.

Keras and torch are imported inside the functions only: importing this module
(or ``pipeline``) imports neither, and a user of one framework never needs the
other installed.

Row conventions (the manifest states them): row ``padding_idx`` (0) is all
zeros, row ``oov_idx`` (1) is ``[UNK]``, words from row 2 -- feed the layer the
ids :class:`pipeline.indexer.Indexer` produces.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from pipeline.artifacts import load_weights, read_manifest, warn_if_rejected
from pipeline.errors import ConfigError


def _verified(folder: str | os.PathLike) -> tuple[dict[str, Any], np.ndarray]:
    """The manifest and the checked float32 matrix of ``folder`` (a fresh in-memory array, never a memmap)."""
    manifest = read_manifest(folder)
    warn_if_rejected(folder, manifest)
    weights = load_weights(folder, manifest, verify=True, mmap=False)
    return manifest, weights


def _require(module: str) -> Any:
    """Import ``module`` or raise a one-line ConfigError saying how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"{module} is not installed ({exc}); install the frameworks extra: "
            "pip install 'embpipe[frameworks]', or '.[frameworks]' in a checkout"
        ) from None


def keras_embedding(
    folder: str | os.PathLike,
    *,
    trainable: bool = False,
    mask_zero: bool = True,
    name: str | None = None,
    **layer_kwargs: Any,
):
    """A ``keras.layers.Embedding`` holding the artifact's matrix.

    The layer is created with ``input_dim``/``output_dim`` and a ``"zeros"``
    initializer, built, and then given the matrix with ``set_weights``: the
    matrix lives in the layer's weights only, never in its config. Saving a
    model that contains it writes the matrix once, in ``model.weights.h5``
    (a ``.keras`` file about the size of ``embeddings.npy``), where
    ``embeddings_initializer=Constant(matrix)`` would copy every value into
    ``config.json`` as text as well. Works on Keras >= 3.3 with any backend
    (``weights=`` is not accepted by Keras 3.0-3.2, so it is not used).

    ``mask_zero=True`` makes Keras mask id 0, which is right only when the
    padding row is row 0 (embpipe's layout); on an artifact whose manifest says
    otherwise it raises :class:`ConfigError`. ``layer_kwargs`` go to
    ``keras.layers.Embedding`` (e.g. ``dtype``, ``embeddings_regularizer``).

    >>> import numpy as np                                  # doctest: +SKIP
    >>> layer = keras_embedding("artifacts/default")         # doctest: +SKIP
    >>> tuple(layer(np.array([[2, 3, 0]])).shape)            # doctest: +SKIP
    (1, 3, 100)
    """
    manifest, weights = _verified(folder)
    padding_idx = int(manifest["padding_idx"])
    if mask_zero and padding_idx != 0:
        raise ConfigError(
            f"keras_embedding(mask_zero=True) masks id 0, but this artifact's padding row is {padding_idx} "
            "(manifest.json padding_idx); pass mask_zero=False and mask the padding id yourself",
            os.fspath(folder),
        )
    keras = _require("keras")
    layer = keras.layers.Embedding(
        input_dim=int(weights.shape[0]),
        output_dim=int(weights.shape[1]),
        embeddings_initializer="zeros",  # cheap, and overwritten below
        mask_zero=mask_zero,
        trainable=trainable,
        name=name,
        **layer_kwargs,
    )
    layer.build((None,))
    layer.set_weights([weights])
    return layer


def torch_embedding(folder: str | os.PathLike, *, freeze: bool = True, **kwargs: Any):
    """``torch.nn.Embedding.from_pretrained`` on the artifact's matrix, with the manifest's ``padding_idx``.

    The weight is float32 and owns its memory (a copy made by torch, not a
    view of the array read from disk), so changing it never changes another
    array and vice versa. With ``freeze=False`` the padding row still gets a
    zero gradient (``padding_idx``), so it stays zero through training.
    ``kwargs`` go to ``from_pretrained`` (``max_norm``, ``sparse``, ...);
    ``padding_idx`` comes from the manifest and cannot be overridden.

    >>> import torch                                     # doctest: +SKIP
    >>> emb = torch_embedding("artifacts/default")      # doctest: +SKIP
    >>> emb(torch.tensor([[2, 3, 0]])).shape             # doctest: +SKIP
    torch.Size([1, 3, 100])
    """
    if "padding_idx" in kwargs:
        raise ConfigError(
            "torch_embedding() takes padding_idx from manifest.json (the row the matrix keeps at zero); "
            "do not pass it",
            os.fspath(folder),
        )
    manifest, weights = _verified(folder)
    torch = _require("torch")
    # torch.tensor copies into storage torch allocates: no memory shared with `weights`.
    tensor = torch.tensor(weights, dtype=torch.float32)
    return torch.nn.Embedding.from_pretrained(
        tensor, freeze=freeze, padding_idx=int(manifest["padding_idx"]), **kwargs
    )
