"""The Separator owns its query projection: one state dict to save, load and resume, and model folders of the
format before it (bare separator keys, PCA under ``query_transform.``) still load and resume."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from tqse.extract import Extractor
from tqse.config import load_config
from tqse.errors import CheckpointError
from tqse.models import PRESETS
from tqse.models.model_dir import load_model_dir, model_config, save_model_dir
from tqse.models.separator import PCAProjection, Separator
from tqse.train.loop import train

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
KWARGS = {"query_dim": 4, "sample_rate": 16000, **PRESETS["tiny"][1]}
ENCODER = {"name": "hash", "path": None, "kwargs": {"dim": 32}}


def fitted_pca(inverse: bool = False) -> PCAProjection:
    return PCAProjection.fit(torch.randn(64, 32, generator=torch.Generator().manual_seed(0)), 4, inverse=inverse)


def pca_separator() -> Separator:
    torch.manual_seed(0)
    return Separator.around("conformer", KWARGS, fitted_pca()).eval()


def as_format_1(folder: Path) -> None:
    """Rewrite a model folder the way tqse wrote it before the Separator: bare separator keys, the projection
    under ``query_transform.``, its spec without ``in_dim``, no ``format``."""
    config = json.loads((folder / "config.json").read_text())
    del config["format"]
    if "query_transform" in config:
        del config["query_transform"]["in_dim"]
    (folder / "config.json").write_text(json.dumps(config))
    state = load_file(str(folder / "model.safetensors"))
    save_file({k.removeprefix("separator."): v for k, v in state.items()}, str(folder / "model.safetensors"))


def test_the_separator_applies_its_projection_to_encoder_space_queries():
    separator = pca_separator()
    x, q = torch.randn(2, 8000), torch.randn(2, 32)
    assert separator.query_dim == 32 and separator.separator.query_dim == 4
    torch.testing.assert_close(separator(x, q), separator.separator(x, separator.query_transform(q)))
    assert separator.model_args() == {"format": 2, "model": "conformer", "kwargs": KWARGS,
                                      "query_transform": {"kind": "pca", "dim": 4, "in_dim": 32}}


def test_save_and_load_need_nothing_but_the_state_dict_and_model_args(tmp_path):
    separator = pca_separator()
    save_model_dir(tmp_path / "m", model_config(separator.model_args(), 16000, ENCODER), separator.state_dict())
    loaded, config = load_model_dir(tmp_path / "m")
    assert set(load_file(str(tmp_path / "m" / "model.safetensors"))) == set(separator.state_dict())
    x, q = torch.randn(1, 8000), torch.randn(1, 32)
    torch.testing.assert_close(loaded(x, q), separator(x, q), atol=0, rtol=0)
    assert config["query_transform"]["kind"] == "pca"
    # the projection as fitted in training, not only its copy, gives the loaded model's queries bit for bit
    torch.testing.assert_close(fitted_pca()(q), loaded.query_transform(q), atol=0, rtol=0)


@pytest.mark.parametrize("inverse", [False, True], ids=["pca", "pca_inv"])
def test_a_format_1_folder_with_a_projection_loads_and_saves_as_format_2(inverse, tmp_path):
    torch.manual_seed(0)
    kwargs = {**KWARGS, "query_dim": 32 if inverse else 4}
    separator = Separator.around("conformer", kwargs, fitted_pca(inverse)).eval()
    save_model_dir(tmp_path / "old", model_config(separator.model_args(), 16000, ENCODER), separator.state_dict())
    as_format_1(tmp_path / "old")
    assert "query_transform.mean" in load_file(str(tmp_path / "old" / "model.safetensors"))
    extractor = Extractor.from_pretrained(tmp_path / "old", device="cpu")
    x, q = torch.randn(1, 8000), torch.nn.functional.normalize(torch.randn(1, 32), dim=-1)
    torch.testing.assert_close(extractor.model(x, q), separator(x, q), atol=0, rtol=0)
    extractor.save_pretrained(tmp_path / "new")
    again, config = load_model_dir(tmp_path / "new")
    assert config["format"] == 2 and config["query_transform"]["in_dim"] == 32
    torch.testing.assert_close(again(x, q), separator(x, q), atol=0, rtol=0)


def test_a_format_1_folder_whose_projection_weights_are_missing_is_a_checkpoint_error(tmp_path):
    separator = pca_separator()
    save_model_dir(tmp_path / "m", model_config(separator.model_args(), 16000, ENCODER),
                   {k: v for k, v in separator.state_dict().items() if not k.startswith("query_transform.")})
    as_format_1(tmp_path / "m")
    with pytest.raises(CheckpointError, match="query transform"):
        load_model_dir(tmp_path / "m")


def test_a_run_checkpointed_in_format_1_resumes_with_its_projection(tmp_path):
    config = load_config([CONFIGS / "setups" / "fixture.yaml", CONFIGS / "table1" / "A7.yaml"],
                         ["data.segment_seconds=0.5", "train.steps=4", "train.checkpoint_every=2"])
    straight = train(config, tmp_path / "straight")
    resumed = train(config, tmp_path / "resumed", stop_after=2)
    last = resumed / "checkpoints" / "last"
    as_format_1(last)
    with torch.no_grad():  # a projection that differs from the refitted one shows which one the resume kept
        state = load_file(str(last / "model.safetensors"))
        state["query_transform.mean"] += 0.01
        save_file(state, str(last / "model.safetensors"))
    train(config, resumed)
    model, saved = load_model_dir(resumed / "checkpoints" / "last")
    reference, _ = load_model_dir(straight / "checkpoints" / "last")
    assert saved["format"] == 2
    torch.testing.assert_close(model.query_transform.mean, reference.query_transform.mean + 0.01)
    torch.testing.assert_close(model.query_transform.components, reference.query_transform.components)


def test_the_first_shipped_model_is_read_through_the_format_1_path():
    # tqse-tcn-builtin-v0 was written before Separator's format 2; its committed copy must keep loading.
    first_model = CONFIGS.parent / "experiments" / "table1" / "warm_start"
    assert "format" not in json.loads((first_model / "config.json").read_text())
    model, config = load_model_dir(first_model)
    assert isinstance(model, Separator) and model.query_transform is None and config["format"] == 2


def test_the_shipped_default_model_is_read_through_the_format_2_path():
    from tqse.models.pretrained import default_model_dir

    assert json.loads((default_model_dir() / "config.json").read_text())["format"] == 2
    model, config = load_model_dir(default_model_dir())
    assert isinstance(model, Separator) and model.query_transform is None and config["name"] == "tqse-conformer-builtin-v3"
