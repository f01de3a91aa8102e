"""Property-based tests of issue 10's contract on the training side: whatever a user feeds the config,
model-folder, run-folder and manifest readers, the answer is success or a one-line TqseError that names the
option or file, and nothing is left behind.

Bounded for CI: few examples per property, derandomised (the same cases every run), no example database
written to disk, no shrinking. Run with ``--hypothesis-show-statistics`` to see how many cases ran.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tqse.config import NUMBER_BOUNDS, OPEN_ZERO, RANGE_BOUNDS, load_config
from tqse.errors import TqseError
from train_faults import FIXTURE_SETUP, assert_clean_error, leftovers, make_finished_run, tiny_config


def bounded(n: int):
    # No shrinking phase: it has no time bound, and a failing case is reported as found.
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# -- config overrides ---------------------------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 0.5, 1e-300, 1e300, 2**31, 2**63, 384_001, 999]),
)
SCALARS = st.one_of(NUMBERS, st.booleans(), st.none(), st.text(max_size=12))
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=4))
KEYS = st.sampled_from(sorted({*NUMBER_BOUNDS, *RANGE_BOUNDS, "train.device", "train.precision", "model.name",
                               "query.mode", "eval.query_field", "data.use", "model.kwargs", "train"}))


def render(value) -> str:
    """A Python value as a dotted-override string, as a user would type it (and some they would not)."""
    if isinstance(value, list):
        return "[" + ",".join(render(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # nan, inf, -inf
    return str(value)


def within_bounds(config, key: str) -> bool:
    value = config
    for part in key.split("."):
        value = getattr(value, part)
    if key in RANGE_BOUNDS:
        lo, hi = RANGE_BOUNDS[key]
        return len(value) == 2 and lo <= value[0] <= value[1] <= hi
    lo, hi = NUMBER_BOUNDS[key]
    return math.isfinite(value) and lo <= value <= hi and (key not in OPEN_ZERO or value > 0)


@bounded(200)
@given(key=KEYS, value=VALUES)
def test_any_override_resolves_within_bounds_or_is_refused_by_key(key, value):
    override = f"{key}={render(value)}"
    try:
        config = load_config([FIXTURE_SETUP], [override])
    except TqseError as err:
        assert_clean_error(err, key, override)
        return
    if key in NUMBER_BOUNDS or key in RANGE_BOUNDS:
        assert within_bounds(config, key), override


@bounded(60)
@given(text=st.text(max_size=40))
def test_any_override_text_is_a_config_or_a_clean_error(text):
    try:
        load_config([], [text])
    except TqseError as err:
        assert_clean_error(err, text.split("=")[0], repr(text), "invalid config")


# -- YAML files ----------------------------------------------------------------------------------------------------

FIXTURE_YAML = FIXTURE_SETUP.read_bytes()


def damaged(data: bytes, draw) -> bytes:
    kind = draw(st.sampled_from(["truncate", "mutate", "insert"]))
    at = draw(st.integers(0, len(data)))
    if kind == "truncate":
        return data[:at]
    byte = bytes([draw(st.integers(0, 255))])
    return data[:at] + byte + data[at + (kind == "mutate"):]


@st.composite
def yaml_bytes(draw):
    source = draw(st.sampled_from(["fixture", "random", "text"]))
    if source == "random":
        return draw(st.binary(max_size=200))
    if source == "text":
        return draw(st.text(max_size=200)).encode("utf-8", "surrogatepass")
    data = FIXTURE_YAML
    for _ in range(draw(st.integers(1, 3))):
        data = damaged(data, draw)
    return data


@bounded(120)
@given(data=yaml_bytes())
def test_any_yaml_file_is_a_config_or_one_line_naming_the_file(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("yaml") / "setup.yaml"
    path.write_bytes(data)
    try:
        load_config([path])
    except TqseError as err:
        assert_clean_error(err, str(path), "invalid config", "data.", "train.", "query", "model.", "eval.")


# -- model folders ---------------------------------------------------------------------------------------------------

@st.composite
def file_damage(draw, names=("config.json", "model.safetensors")):
    name = draw(st.sampled_from(names))
    kind = draw(st.sampled_from(["truncate", "mutate", "mutate", "zero"]))
    return name, kind, draw(st.floats(0, 1, exclude_max=True)), draw(st.integers(0, 255))


def apply_damage(folder: Path, damage) -> None:
    name, kind, where, byte = damage
    path = folder / name
    data = path.read_bytes()
    at = int(where * len(data))
    if kind == "truncate":
        data = data[:at]
    elif kind == "zero":
        data = b""
    else:
        data = data[:at] + bytes([byte]) + data[at + 1:]
    path.write_bytes(data)


@bounded(80)
@given(damage=file_damage())
def test_a_damaged_model_folder_loads_or_names_the_folder(tiny_model, tmp_path_factory, damage):
    from tqse.models.model_dir import load_model_dir

    folder = Path(shutil.copytree(tiny_model, tmp_path_factory.mktemp("m") / "model"))
    apply_damage(folder, damage)
    before = sorted(p.name for p in folder.parent.iterdir())
    try:
        load_model_dir(folder)
    except TqseError as err:
        assert_clean_error(err, str(folder))
    assert sorted(p.name for p in folder.parent.iterdir()) == before


@bounded(40)
@given(name=st.text(min_size=1, max_size=10), kwargs=st.dictionaries(
    st.sampled_from(["d_model", "n_layers", "n_heads", "ffn_dim", "conv_kernel", "query_dim", "dropout", "bogus"]),
    st.one_of(st.integers(-4, 70), st.floats(-1, 2), st.text(max_size=3), st.none()), max_size=3))
def test_any_model_name_and_kwargs_build_or_name_the_folder(tiny_model, tmp_path_factory, name, kwargs):
    from tqse.models.model_dir import load_model_dir

    folder = Path(shutil.copytree(tiny_model, tmp_path_factory.mktemp("m") / "model"))
    config = json.loads((folder / "config.json").read_text())
    config["model"] = name if name.isalpha() and len(name) < 3 else config["model"]
    config["kwargs"].update(kwargs)
    (folder / "config.json").write_text(json.dumps(config))
    try:
        load_model_dir(folder)
    except TqseError as err:
        assert_clean_error(err, str(folder))


# -- run folders ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    return make_finished_run(tmp_path_factory.mktemp("finished") / "run")


CHECKPOINT_FILES = [f"checkpoints/{c}/{f}" for c in ("last", "best")
                    for f in ("config.json", "model.safetensors", "training_state.pt", "run_config.yaml")]


@st.composite
def run_damage(draw):
    """One to three of: truncate or delete a checkpoint file, cut the last metrics line, add a stale save copy."""
    actions = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["truncate", "delete", "metrics", "stale"]))
        if kind in ("truncate", "delete"):
            actions.append((kind, draw(st.sampled_from(CHECKPOINT_FILES)), draw(st.floats(0, 1, exclude_max=True))))
        elif kind == "metrics":
            actions.append((kind, "metrics.jsonl", draw(st.floats(0, 1, exclude_max=True))))
        else:
            actions.append((kind, draw(st.sampled_from([".last.old123", ".last.tmp9", ".best.old5", ".best.json.tmp3"])), 0))
    return actions


def apply_run_damage(run: Path, actions) -> None:
    for kind, name, where in actions:
        path = run / name
        if kind == "stale":
            target = run / "checkpoints" / name
            if name.endswith(".json.tmp3"):
                target.write_text('{"step"')
            elif (run / "checkpoints" / "last").is_dir():
                shutil.copytree(run / "checkpoints" / "last", target, dirs_exist_ok=True)
        elif not path.exists():
            continue
        elif kind == "delete":
            path.unlink()
        elif kind == "truncate":
            data = path.read_bytes()
            path.write_bytes(data[: int(where * len(data))])
        else:  # append a line cut short, as a kill mid-write leaves it
            line = json.dumps({"step": 3, "loss": -1.25, "lr": 1e-3})
            path.write_text(path.read_text() + line[: 1 + int(where * (len(line) - 2))])


@bounded(25)
@given(actions=run_damage())
def test_a_damaged_run_folder_resumes_or_names_what_to_delete(finished_run, tmp_path_factory, actions):
    from tqse.train.loop import train

    run = Path(shutil.copytree(finished_run, tmp_path_factory.mktemp("r") / "run"))
    apply_run_damage(run, actions)
    try:
        train(tiny_config(), run)
    except TqseError as err:
        assert_clean_error(err, str(run))
    assert leftovers(run) == []


@bounded(60)
@given(lines=st.lists(st.one_of(
    st.builds(lambda s: json.dumps({"step": s, "loss": -1.0}), st.integers(0, 5)),
    st.text(max_size=30), st.builds(lambda v: json.dumps(v), st.one_of(st.integers(), st.lists(st.integers())))),
    max_size=8), resume=st.integers(0, 5))
def test_any_metrics_file_is_kept_to_its_valid_rows_up_to_the_resumed_step(tmp_path_factory, lines, resume):
    from tqse.files import read_metrics
    from tqse.train.logging import MetricsLogger

    path = tmp_path_factory.mktemp("metrics") / "metrics.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    MetricsLogger(path, resume).close()
    rows = read_metrics(path)
    assert all(isinstance(row, dict) and row.get("step", 0) <= resume for row in rows)


def test_a_resume_killed_while_rewriting_the_metrics_keeps_the_old_file(tmp_path, monkeypatch):
    import tqse.files
    from tqse.train.logging import MetricsLogger

    path = tmp_path / "metrics.jsonl"
    text = "".join(json.dumps({"step": s, "loss": -1.0}) + "\n" for s in range(1, 6))
    path.write_text(text)

    def killed(*args):
        raise KeyboardInterrupt  # the kill, after the rows are written and before they replace the file

    monkeypatch.setattr(tqse.files.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        MetricsLogger(path, resume_step=3)
    monkeypatch.undo()
    assert path.read_text() == text and [p.name for p in tmp_path.iterdir()] == ["metrics.jsonl"]


# -- manifests -------------------------------------------------------------------------------------------------------

def fixture_rows() -> list[dict]:
    from tqse.data.locations import fixture_manifest

    base = fixture_manifest().parent
    return [{**json.loads(line), "path": str(base / json.loads(line)["path"])}
            for line in fixture_manifest().read_text().splitlines() if line.strip()]


ODD_VALUES = st.one_of(st.none(), st.integers(-3, 3), st.floats(allow_nan=True), st.text(max_size=8),
                       st.lists(st.text(max_size=4), max_size=2), st.sampled_from(["\ud800", "a\udfffb", "", "x" * 300]))


@st.composite
def manifest_lines(draw):
    rows = draw(st.lists(st.sampled_from(fixture_rows()), min_size=0, max_size=4))
    lines = []
    for row in rows:
        row = dict(row)
        if draw(st.booleans()):
            row[draw(st.sampled_from(["path", "caption", "captions", "class", "frames", "sample_rate", "split"]))] = \
                draw(ODD_VALUES)
        lines.append(json.dumps(row))
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.text(max_size=20)))
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@bounded(100)
@given(data=manifest_lines(), different_class=st.booleans())
def test_any_manifest_mixes_or_is_a_manifest_error_naming_it(tmp_path_factory, data, different_class):
    from tqse.config import DataConfig
    from tqse.data.dataset import MixtureDataset
    from tqse.data.manifest import read_clips

    path = tmp_path_factory.mktemp("manifest") / "clips.jsonl"
    path.write_bytes(data)
    try:
        clips = read_clips(path, split=None)
        config = DataConfig(sample_rate=16000, segment_seconds=0.25, different_class=different_class)
        dataset = MixtureDataset(clips, config, source=str(path))
        item = dataset[0]
    except TqseError as err:
        assert_clean_error(err, str(path), ".flac", "clips in a row")
        return
    assert item.mixture.shape == (4000,)
