"""Built-in encoder versions: version 2 changes only the text side (bit-identical audio embeddings), is the
default for new models, and every model folder keeps the version it was trained with (hash checked)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from tqse.audio.io import load_audio
from tqse.errors import CheckpointError
from tqse.query import load_encoder
from tqse.query.builtin import ASSET_DIR, LATEST, VERSIONS, encoder_identity
from tqse.query.registry import encoder_from_config, legacy_encoder_spec, pin_encoder_spec

FIXTURE = ASSET_DIR.parent / "fixture"
V1_NAME = "builtin:662f4709acb6083a"  # the only built-in encoder before versions: every older model used it


@pytest.fixture(scope="module")
def v1():
    return load_encoder("builtin-v1")


@pytest.fixture(scope="module")
def v2():
    return load_encoder("builtin-v2")


def test_names_and_defaults(v1, v2):
    assert v1.name == V1_NAME and v1.audio_name == V1_NAME
    assert v2.name != v1.name and v2.audio_name == v1.name
    assert LATEST == 2 and load_encoder("builtin").name == v2.name
    assert load_encoder(str(ASSET_DIR)).name == v1.name  # a folder is the folder, not the default
    assert load_encoder(str(VERSIONS[2])).name == v2.name
    assert load_encoder("builtin", version=1).name == v1.name
    assert encoder_identity(VERSIONS[2]) == (v2.name, v1.name)


def test_audio_embeddings_are_bit_identical(v1, v2):
    clips = ["loop_amen.flac", "perc_bell.flac", "guit_em9.flac", "ambi_choir.flac"]
    wavs = [load_audio(FIXTURE / name, 32000)[0][: 32000 * 4] for name in clips]
    batch = np.stack([np.pad(w, (0, 32000 * 4 - len(w))) for w in wavs])
    assert torch.equal(v1.embed_audio(batch, 32000), v2.embed_audio(batch, 32000))
    assert torch.equal(v1.embed_audio(batch[0], 44100), v2.embed_audio(batch[0], 44100))
    audio1, audio2 = ({k: v for k, v in enc.heads.state_dict().items() if not k.startswith(("text_proj.", "text_adapter."))}
                      for enc in (v1, v2))
    assert audio1.keys() == audio2.keys() and all(torch.equal(audio1[k], audio2[k]) for k in audio1)


def test_version_1_text_side_is_unchanged_and_version_2_differs(v1, v2):
    from safetensors.torch import load_file

    state = load_file(str(ASSET_DIR / "weights.safetensors"))
    sentence = v1.text(["a dog barks"])
    h = sentence @ state["text_proj.linear1.weight"].float().T + state["text_proj.linear1.bias"].float()
    h = h + torch.nn.functional.gelu(h) @ state["text_proj.linear2.weight"].float().T + state["text_proj.linear2.bias"].float()
    assert torch.allclose(v1.embed_text(["a dog barks"]), torch.nn.functional.normalize(h, dim=-1), atol=1e-6)
    assert not torch.allclose(v1.embed_text(["a dog barks"]), v2.embed_text(["a dog barks"]), atol=1e-3)
    assert torch.allclose(v2.embed_text(["a dog"]).norm(dim=-1), torch.ones(1), atol=1e-5)


def test_a_text_side_over_other_audio_weights_is_refused(tmp_path):
    folder = tmp_path / "v2"
    shutil.copytree(VERSIONS[2], folder)
    config = json.loads((folder / "config.json").read_text())
    config["base"]["path"] = str(ASSET_DIR)
    config["base"]["weights_sha256"] = "0" * 64
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="sha256"):
        load_encoder(str(folder))


def test_a_text_side_file_may_not_carry_audio_weights(tmp_path):
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "v2"
    shutil.copytree(VERSIONS[2], folder)
    config = json.loads((folder / "config.json").read_text())
    config["base"]["path"] = str(ASSET_DIR)
    (folder / "config.json").write_text(json.dumps(config))
    state = load_file(str(folder / "text.safetensors"))
    state["audio_proj.linear1.bias"] = torch.zeros(512, dtype=torch.float16)
    save_file(state, str(folder / "text.safetensors"))
    with pytest.raises(CheckpointError, match="only text_proj"):
        load_encoder(str(folder))


def test_specs_pin_the_version_for_new_models_and_read_old_ones_as_version_1(v1, v2):
    new = pin_encoder_spec({"name": "builtin", "path": None, "kwargs": {}})
    assert new == {"name": "builtin", "path": None, "kwargs": {"version": 2}, "id": v2.name}
    assert pin_encoder_spec({"name": "builtin", "path": None, "kwargs": {"version": 1}})["id"] == v1.name
    assert legacy_encoder_spec({"name": "builtin", "path": None, "kwargs": {}}) == {
        "name": "builtin", "path": None, "kwargs": {"version": 1}, "id": v1.name}
    assert legacy_encoder_spec(new) == new
    other = {"name": "laion", "path": "x.pt", "kwargs": {}}
    assert pin_encoder_spec(other) == other == legacy_encoder_spec(other)
    assert encoder_from_config({"name": "builtin", "kwargs": {"version": 1}, "id": v1.name}).name == v1.name


def test_a_recorded_encoder_that_no_longer_matches_is_one_clear_line():
    with pytest.raises(CheckpointError) as err:
        encoder_from_config({"name": "builtin", "path": None, "kwargs": {"version": 2}, "id": "builtin:0123456789abcdef"})
    message = str(err.value)
    assert "\n" not in message and "builtin:0123456789abcdef" in message and "retrain" in message


def test_committed_models_keep_version_1_and_new_model_folders_record_version_2(tmp_path, v1, v2):
    from pathlib import Path

    from tqse.extract.api import Extractor
    from tqse.models.model_dir import model_config, read_model_config

    root = Path(__file__).resolve().parents[2]
    v2_model = root / "experiments" / "default_model" / "tqse-conformer-builtin-v2" / "model"
    for folder in [v2_model, root / "experiments" / "table1" / "warm_start"]:
        config = read_model_config(folder)
        assert config["encoder"]["kwargs"] == {"version": 1} and config["encoder"]["id"] == V1_NAME, folder
        assert "version" not in json.loads((folder / "config.json").read_text())["encoder"]["kwargs"]
    assert Extractor.from_pretrained(v2_model, device="cpu").encoder.name == v1.name
    # the shipped v3 was trained on version 2 and records it, so it keeps it after a version 3
    shipped = json.loads((root / "src" / "tqse" / "assets" / "default_model" / "config.json").read_text())
    assert shipped["encoder"]["kwargs"] == {"version": 2} and shipped["encoder"]["id"] == v2.name
    assert Extractor.from_pretrained(root / "src" / "tqse" / "assets" / "default_model", device="cpu").encoder.name == v2.name
    spec = model_config({"model": "conformer", "kwargs": {}}, 16000, {"name": "builtin", "path": None, "kwargs": {}})
    assert spec["encoder"]["kwargs"] == {"version": 2} and spec["encoder"]["id"] == v2.name
