"""pipeline/config.py: reading, overriding and validating the TOML config."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Config, default_config_text, load_config, resolve_input
from pipeline.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str, name: str = "run.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_embedded_default_is_configs_default_toml():
    assert default_config_text() == (REPO / "configs" / "default.toml").read_text(encoding="utf-8")


def test_default_config_equals_dataclass_defaults():
    # The shipped file spells out the defaults; they must not drift apart.
    # except the training values the default corpus needs and the vocabulary's min_count, set to
    # training's (see the comments in default.toml)
    loaded = load_config(None).to_dict()
    expected = Config().to_dict()
    expected["vectors"]["train"].update(sg=1, epochs=20)
    expected["vocab"]["min_count"] = expected["vectors"]["train"]["min_count"]
    assert loaded == expected


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


@pytest.mark.parametrize("value", ["[/p]", "['a.tsv'", "{x = }", '"unclosed'])
def test_an_override_that_looks_like_toml_but_is_not_is_refused(tmp_path, value):
    with pytest.raises(ConfigError, match="invalid TOML value"):
        load_config(write(tmp_path, ""), [f"evaluate.similarity={value}"])


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
        ("[matrix]\noutput_dim = 101\n", "The 'matrix.output_dim' parameter must be <= vectors.train.vector_size (100)"),
        ("[vectors.train]\nvector_size = 8\n[matrix]\noutput_dim = 9\n", "<= vectors.train.vector_size (8). Got 9"),
        ("[vectors]\ncorpus = ['']\n", "The 'vectors.corpus' parameter must be a list of non-empty strings"),
        ("[vocab]\ncorpus = ['a.txt', ' ']\n", "The 'vocab.corpus' parameter must be a list of non-empty strings"),
        ("[evaluate]\nprobes = ['']\n", "non-empty strings"),
        ("[vectors]\nencoding = 'utf-16'\n", "ASCII-compatible"),
        ("[vectors]\nencoding = 'no-such-codec'\n", "ASCII-compatible"),
        ("[vectors]\nencoding = 'utf-7'\n", "stateless"),  # ASCII bytes that decode to other text
        ("[vectors]\nencoding = 'iso2022_jp'\n", "stateless"),  # ASCII bytes that decode to other text
        ("[vectors]\nencoding = 'hz'\n", "stateless"),  # ASCII bytes that decode to other text
        ("[vectors]\nencoding = 'raw_unicode_escape'\n", "stateless"),  # ASCII bytes that decode to other text
        ("[vectors]\nencoding = 'idna'\n", "stateless"),  # ASCII bytes that decode to other text
        # os.stat raises ValueError for a NUL in a path: it was "internal error", exit 1
        ('[evaluate]\nanalogies = "a\\u0000b"\n', "The 'evaluate.analogies' parameter must be a string without NUL"),
        ('[cache]\ndir = "a\\u0000b"\n', "The 'cache.dir' parameter must be a string without NUL"),
        ('[vectors]\ncorpus = ["a\\u0000b"]\n', "must be a list of strings without NUL characters. Got ['a\\x00b']"),
        ("[align]\nrules = []\n", "The 'align.rules' parameter must be a list of one or more of 'exact'"),  # matched nothing
        # a key of another table, named where it is not: the suggestion looks in every table
        ("[gate]\nmin_coverage = 0.5\n", "unknown key 'gate' (valid keys here: name, seed, vectors, "),
        ("[gate]\nmin_coverage = 0.5\n", "did you mean 'evaluate.gate'?"),
        ("[train]\nepochs = 3\n", "did you mean 'vectors.train'?"),
        ("[evaluate]\nmin_coverage = 0.5\n", "did you mean 'evaluate.gate.min_coverage'?"),
        ("[cache]\ndirectory = 'x'\n", "did you mean 'cache.dir'?"),
        ("[vectors]\nepoch = 3\n", "did you mean 'vectors.train.epochs'?"),
        ("[export]\nformat = ['word2vec']\n", "did you mean 'export.formats'?"),  # not vectors.format
        ("[vectors]\nvectors = 1\n", "did you mean 'cache.vectors'?"),  # not the table it is in
        ("[cache]\ncache = 1\n", "(valid keys here: enabled, dir, vectors)"),
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


def test_a_config_with_old_mac_line_ends_loads_as_read_text_reads_it(tmp_path):
    path = tmp_path / "cr.toml"
    path.write_bytes(b'name = "cr"\r[matrix]\roov_init = "zeros"\r')
    config = load_config(path)
    assert (config.name, config.matrix.oov_init) == ("cr", "zeros")


def test_a_config_too_large_to_be_one_is_refused_after_reading_its_limit(tmp_path):
    # -c /dev/zero read the device until the memory ran out (MemoryError, or the OOM killer)
    with pytest.raises(ConfigError, match="config is larger than 16 MiB") as info:
        load_config("/dev/zero")
    assert info.value.exit_code == 78


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1", "cp1252", "shift_jis", "gb18030", "euc_kr"])
def test_ascii_compatible_encodings_are_accepted(tmp_path, encoding):
    assert load_config(write(tmp_path, f"[vectors]\nencoding = '{encoding}'\n")).vectors.encoding == encoding


def test_config_with_a_byte_order_mark_loads(tmp_path):
    # Windows Notepad saves UTF-8 with a BOM, which TOML itself does not allow.
    path = tmp_path / "run.toml"
    path.write_bytes(b"\xef\xbb\xbfname = 'x'\nseed = 3\n")
    cfg = load_config(path)
    assert (cfg.name, cfg.seed) == ("x", 3)


@pytest.mark.parametrize("text, line", [("seed = 1\n[matrix]\noov_init = [\n", 3), ("seed = 1\nname = 'x", 2)])
def test_invalid_toml_at_end_of_document_names_the_last_line(tmp_path, text, line):
    with pytest.raises(ConfigError, match="at end of document") as info:
        load_config(write(tmp_path, text))
    assert info.value.line == line and f"run.toml:{line}: invalid TOML" in str(info.value)


@pytest.mark.parametrize("text, overrides, fragment", [
    ("seed = [" + "[" * 100_000, [], "invalid TOML: tables or arrays nested too deeply to read"),
    ("seed = 1" + "0" * 5000 + "\n", [], "invalid TOML: Exceeds the limit (4300 digits)"),
    ("", ["seed=" + "{a=" * 10_000], "--set 'seed': invalid TOML: tables or arrays nested too deeply"),
    ("", ["seed=1" + "0" * 5000], "--set 'seed': invalid TOML: Exceeds the limit (4300 digits)"),
])
def test_toml_beyond_what_tomllib_can_read_is_a_config_error(tmp_path, text, overrides, fragment):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), overrides)
    assert fragment in str(info.value) and len(str(info.value)) < 300  # the input is not echoed back
    assert "set_int_max_str_digits" not in str(info.value)


@pytest.mark.parametrize("override, message", [
    ("evaluate.gate.min_coverage=nan", "The 'evaluate.gate.min_coverage' parameter must be a number (not nan). "
                                       "Got nan instead."),
    ("vectors.train.alpha=-nan", "The 'vectors.train.alpha' parameter must be a number (not nan)."),
    ("evaluate.gate.max_oov_share=inf", "The 'evaluate.gate.max_oov_share' parameter must be in the range "
                                        "[0.0, 1.0]. Got inf instead."),
    ("evaluate.gate.min_similarity_spearman=-inf", "must be in the range [-1.0, 1.0]. Got -inf instead."),
])
def test_nan_and_inf_are_refused_for_float_keys(override, message):
    # nan < lo and nan > hi are both False: min_coverage = nan would pass any gate.
    with pytest.raises(ConfigError) as info:
        load_config(None, [override])
    assert message in str(info.value)


def test_inf_is_refused_by_a_one_sided_range():
    # No float key has a one-sided range today; _check_value must not let inf through one.
    import dataclasses

    from pipeline.config import _check_value

    f = dataclasses.field(default=1.0, metadata={"min": 0.0, "max": None})
    with pytest.raises(ConfigError, match=r"The 'x' parameter must be >= 0.0. Got inf instead."):
        _check_value("x", float, f, float("inf"), "run.toml")
    assert _check_value("x", float, f, 1e300, "run.toml") == 1e300


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


def test_a_bad_set_value_is_reported_against_the_set_not_the_file(tmp_path):
    path = write(tmp_path, "[matrix]\noov_init = 'zeros'\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, ["matrix.oov_init=gauss"])
    assert str(info.value).startswith("--set matrix.oov_init: The 'matrix.oov_init' parameter must be one of")
    with pytest.raises(ConfigError) as info:
        load_config(path, ["vectorz.source=file"])
    assert str(info.value).startswith("--set vectorz: unknown key 'vectorz'")
    # a bad value in the file is still the file's, whatever else --set changes
    bad_file = write(tmp_path, "[matrix]\noov_init = 'gauss'\n", name="bad.toml")
    with pytest.raises(ConfigError) as info:
        load_config(bad_file, ["seed=3"])
    assert str(info.value).startswith(f"{bad_file}: The 'matrix.oov_init' parameter")


@pytest.mark.parametrize("override, key", [
    ('vocab.padding_token="a\\nb"', "vocab.padding_token"),   # vocab.txt could not hold it: found at export before
    ('vocab.oov_token="x\\ry"', "vocab.oov_token"),
    ('vocab.oov_token=""', "vocab.oov_token"),
    ("vectors.train.negative=0", "vectors.train.negative"),  # with hs = 0: found after the vocab stage before
    ("name=" + "a" * 129, "name"),                           # a folder name too long: found at export before
])
def test_settings_that_fail_late_are_refused_when_the_config_loads(override, key):
    with pytest.raises(ConfigError) as err:
        load_config(None, [override])
    assert err.value.exit_code == 78 and f"'{key}' parameter must" in err.value.message
    assert str(err.value).startswith(f"--set {key}: ")


def test_an_empty_corpus_list_is_a_config_error_naming_the_key():
    # It was exit 65, "no corpus given", naming neither the key nor a file.
    with pytest.raises(ConfigError, match=r"^--set vectors.corpus: The 'vectors.corpus' parameter must list"):
        load_config(None, ["vectors.corpus=[]"])
    with pytest.raises(ConfigError, match=r"The 'vocab.corpus' parameter must list .* \(or vectors.corpus\)"):
        load_config(None, ["vectors.corpus=[]", 'vectors.source="file"', 'vectors.path="v.txt"'])
    load_config(None, ["vectors.corpus=[]", 'vectors.source="file"', 'vectors.path="v.txt"', 'vocab.corpus=["c.txt"]'])


@pytest.mark.parametrize("item", [".seed=1", "vectors..path=x", "seed.=1", "=1"])
def test_an_override_with_an_empty_key_part_names_the_override(item):
    # ".seed=1" was blamed on the config file: "unknown key ''".
    with pytest.raises(ConfigError, match=r"^--set '.*': expected section.key=value") as err:
        load_config(None, [item])
    assert err.value.exit_code == 78


@pytest.mark.parametrize("key", ["export.dir", "cache.dir"])
def test_a_folder_under_an_unknown_users_home_is_refused(key):
    # os.path.expanduser leaves "~nosuchuser/x" as it is: a run made a folder literally named "~nosuchuser".
    with pytest.raises(ConfigError, match=rf"^--set {key}: The '{key}' parameter must start with '~' only"):
        load_config(None, [f'{key}="~nosuchuser-embpipe/x"'])
    assert load_config(None, [f'{key}="~/x"'])  # the home folder is fine


def test_export_dir_under_home_is_expanded(monkeypatch, tmp_path):
    from pipeline.runner import artifact_dir

    monkeypatch.setenv("HOME", str(tmp_path))
    assert artifact_dir(load_config(None, ['export.dir="~/emb"'])) == tmp_path / "emb" / "default"


def test_load_config_refuses_one_string_for_its_list_of_overrides():
    with pytest.raises(TypeError, match=r"not one string: \['name=x'\]\?"):
        load_config(None, "name=x")  # it was read letter by letter: "--set 'n': expected section.key=value"
