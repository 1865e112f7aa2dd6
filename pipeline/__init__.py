"""embpipe: word vectors in, an embedding matrix a Keras or PyTorch model loads out.

Stages (each a plain function, see the README): ``sources`` (train or read
vectors) -> ``vocab`` -> ``align`` -> ``matrix`` -> ``export`` / ``evaluate``;
``runner`` orders them from a config. Importing this package imports neither
gensim, scikit-learn, keras nor torch.
"""

__version__ = "0.1.0"

# public name -> the module that defines it, imported on first access (PEP 562),
# so that `import pipeline` stays cheap and never imports keras or torch.
_LAZY = {
    "keras_embedding": "pipeline.frameworks",
    "torch_embedding": "pipeline.frameworks",
    "Indexer": "pipeline.indexer",
    "check_vocab": "pipeline.indexer",
    "load_config": "pipeline.config",
    "run": "pipeline.runner",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
