"""pipeline/config.py: reading, overriding and validating the TOML config."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Config, default_config_text, load_config, resolve_input
from pipeline.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_embedded_default_is_configs_default_toml():
    assert default_config_text() == (REPO / "configs" / "default.toml").read_text(encoding="utf-8")


def test_default_config_equals_dataclass_defaults():
    # The shipped file spells out the defaults; they must not drift apart.
    loaded = load_config(None)
    assert loaded.to_dict() == Config().to_dict()


def test_every_shipped_config_loads():
    for path in (REPO / "configs").glob("*.toml"):
        cfg = load_config(path)
        assert cfg.name == path.stem


def test_file_values_and_overrides(tmp_path):
    path = write(tmp_path, 'name = "x"\nseed = 7\n[matrix]\noov_init = "zeros"\n[evaluate.gate]\nmin_coverage = 0.5\n')
    cfg = load_config(path, ["seed=9", "evaluate.gate.min_coverage=0.9", "vectors.train.epochs=3",
                             "evaluate.probes=['a', 'b']", "vectors.path=plain-word"])
    assert cfg.name == "x" and cfg.seed == 9  # flag beats file
    assert cfg.matrix.oov_init == "zeros"  # file beats default
    assert cfg.evaluate.gate.min_coverage == 0.9
    assert cfg.vectors.train.epochs == 3
    assert cfg.evaluate.probes == ("a", "b")
    assert cfg.vectors.path == "plain-word"  # a bare word is taken as a string
    assert cfg.base_dir == str(tmp_path.resolve())


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[matrix]\noov_int = 'zeros'\n", "unknown key 'matrix.oov_int'"),
        ("[matrix]\noov_int = 'zeros'\n", "did you mean 'matrix.oov_init'"),
        ("[vectorz]\nsource = 'file'\n", "did you mean 'vectors'"),
        ("seed = 'abc'\n", "The 'seed' parameter must be an integer. Got 'abc' instead."),
        ("[matrix]\noov_init = 'gauss'\n", "must be one of 'normal', 'uniform', 'zeros', 'mean'"),
        ("[vectors.train]\nwindow = 0\n", "The 'vectors.train.window' parameter must be in the range [1, 1000]"),
        ("[evaluate.gate]\nmin_coverage = 1.5\n", "evaluate.gate.min_coverage"),
        ("[align]\nrules = ['exact', 'stem']\n", "Got 'stem' instead"),
        ("[vectors]\nlowercase = 'yes'\n", "must be true or false"),
        ("name = '../etc'\n", "no '/' or '..'"),
        ("name = 'a/b'\n", "no '/' or '..'"),
        ("[matrix\n", "invalid TOML"),
        ("[vectors]\nencoding = 'utf-16'\n", "ASCII-compatible"),
        ("[vectors]\nencoding = 'no-such-codec'\n", "ASCII-compatible"),
    ],
)
def test_bad_config_is_one_clear_config_error(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert fragment in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.exit_code == 78
    assert "\n" not in str(info.value)


def test_bad_override_is_config_error():
    with pytest.raises(ConfigError, match="did you mean 'matrix.output_dim'"):
        load_config(None, ["matrix.output_dimm=3"])
    with pytest.raises(ConfigError, match="expected section.key=value"):
        load_config(None, ["matrix.output_dim"])


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found") as info:
        load_config(tmp_path / "nope.toml")
    assert info.value.exit_code == 78


def test_resolve_input(tmp_path):
    assert resolve_input("v.txt", tmp_path) == tmp_path / "v.txt"
    assert resolve_input(str(tmp_path / "abs.txt"), "/elsewhere") == tmp_path / "abs.txt"
    from gensim.test.utils import datapath

    assert resolve_input("gensim-test:questions-words.txt", tmp_path) == Path(datapath("questions-words.txt"))


def test_config_round_trips_through_to_dict():
    cfg = load_config(None, ["matrix.output_dim=20"])
    data = cfg.to_dict()
    assert data["matrix"] == {"oov_init": "normal", "output_dim": 20}
    assert "base_dir" not in data
