"""embpipe: word vectors in, an embedding matrix a Keras or PyTorch model loads out.

Stages (each a plain function, see the README): ``sources`` (train or read
vectors) -> ``vocab`` -> ``align`` -> ``matrix`` -> ``export`` / ``evaluate``;
``runner`` orders them from a config. Importing this package imports neither
gensim, scikit-learn, keras nor torch.
"""

__version__ = "0.1.0"
