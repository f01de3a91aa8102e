"""ResUNet30: parity with AudioSep's own code, parameter counts, invariants, and `tqse convert audiosep`.

The parity fixture ``tests/fixtures/audiosep_resunet_ref.npz`` holds only AudioSep's *output*. It was made by
running AudioSep's ``models/resunet.py`` (commit 944583f, torchlibrosa 0.1.0, throw-away venv outside the repo)
on the weights, input and query that the ``recipe_*`` functions below generate; ``make_reference`` at the end
of this file is the script that did it. The test rebuilds the same weights into our model and compares.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

RECIPE_SEED = 1729
RECIPE_VERSION = 1
REF_PATH = Path(__file__).parent.parent / "fixtures" / "audiosep_resunet_ref.npz"
REF_LENGTH = 32000 + 117  # 1 s and an odd tail: exercises time padding to 32 frames and iSTFT `length`
TRAIN_LENGTH = 16000 + 33  # training-mode (batch statistics) reference
TRACKED_STATS = ("base.bn0.running_var", "base.decoder_block6.conv_block2.bn2.running_mean")


def recipe_tensor(key: str, like: torch.Tensor) -> torch.Tensor:
    """Deterministic, non-trivial value for one state-dict entry, seeded by its key name (not its position).

    BatchNorm running statistics, scales and shifts are all non-trivial so eval-mode BN is really exercised;
    FiLM weights are large enough that the query visibly changes the output.
    """
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "num_batches_tracked":
        return torch.zeros_like(like)
    rng = np.random.default_rng([RECIPE_SEED, zlib.crc32(key.encode())])
    n = like.numel()
    if leaf == "running_var":
        value = rng.uniform(0.5, 2.0, n)
    elif leaf == "running_mean":
        value = 0.2 * rng.standard_normal(n)
    elif leaf == "bias":
        value = 0.1 * rng.standard_normal(n)
    elif like.ndim == 1:  # BatchNorm scale
        value = 1.0 + 0.2 * rng.standard_normal(n)
    elif key.startswith("film."):
        value = 0.5 * rng.standard_normal(n)
    else:  # conv weights; a transposed conv with kernel == stride sums over its input channels only
        fan_in = like.shape[0] if ".conv1." in key and "decoder_block" in key and "conv_block" not in key \
            else n // like.shape[0]
        value = rng.standard_normal(n) * (0.7 / math.sqrt(fan_in))
    return torch.from_numpy(value.astype(np.float32)).reshape(like.shape)


def recipe_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {key: recipe_tensor(key, value) for key, value in model.state_dict().items()}


def recipe_inputs(length: int = REF_LENGTH) -> tuple[torch.Tensor, torch.Tensor]:
    """Two 32 kHz test signals (tone + chirp + noise; AM tone + noise) and two unit-norm 512-d queries."""
    rng = np.random.default_rng([RECIPE_SEED, 1])
    t = np.arange(length) / 32000.0
    a = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * (300 * t + 2000 * t**2))
    b = 0.4 * np.sin(2 * np.pi * 97 * t) * np.sin(2 * np.pi * 3000 * t)
    wav = np.stack([a, b]) + 0.05 * rng.standard_normal((2, length))
    query = rng.standard_normal((2, 512))
    query /= np.linalg.norm(query, axis=1, keepdims=True)
    return torch.from_numpy(wav.astype(np.float32)), torch.from_numpy(query.astype(np.float32))


# --------------------------------------------------------------------------------------------- fixtures


from tqse.errors import CheckpointError  # noqa: E402
from tqse.models import count_parameters  # noqa: E402
from tqse.models.convert import adapt_audiosep_state, convert_audiosep  # noqa: E402
from tqse.models.model_dir import load_model_dir, model_config, save_model_dir  # noqa: E402
from tqse.models.resunet import ResUNet30, unused_audiosep_keys  # noqa: E402

# Trainable parameters by drop_unused_film (AudioSep's own model has 26,447,941).
TRAINABLE_PARAMETERS = {False: 26_447_941, True: 25_623_941}


@pytest.fixture(scope="module")
def reference() -> dict:
    return dict(np.load(REF_PATH))


@pytest.fixture(scope="module")
def model() -> ResUNet30:
    """The full model with the recipe weights, in eval mode."""
    net = ResUNet30().eval()
    net.load_state_dict(recipe_state(net), strict=True)
    return net


def audiosep_layout_state(reference: dict) -> dict[str, torch.Tensor]:
    """A state dict in AudioSep's exact key layout (their 332 keys, incl. torchlibrosa's STFT kernels)."""
    state = {}
    for key, shape in zip(reference["keys"], reference["shapes"]):
        like = torch.zeros(tuple(int(s) for s in shape.split(",") if s))
        if key.endswith("num_batches_tracked"):
            like = like.long()
        state[str(key)] = like if key.startswith(("base.stft.", "base.istft.")) else recipe_tensor(str(key), like)
    return state


def short_inputs(seconds: float = 0.3) -> tuple[torch.Tensor, torch.Tensor]:
    wav, query = recipe_inputs(int(32000 * seconds))
    return wav, query


# --------------------------------------------------------------------------------------------- parity


def test_keys_and_shapes_match_audiosep(reference):
    ours = {k: tuple(v.shape) for k, v in ResUNet30().state_dict().items()}
    theirs = {str(k): tuple(int(s) for s in str(shape).split(",") if s)
              for k, shape in zip(reference["keys"], reference["shapes"])
              if not str(k).startswith(("base.stft.", "base.istft."))}
    assert ours == theirs


def test_output_matches_audiosep_code(model, reference):
    assert int(reference["recipe_version"]) == RECIPE_VERSION and int(reference["length"]) == REF_LENGTH
    wav, query = recipe_inputs()
    with torch.no_grad():
        out = model(wav, query)
    err = (out - torch.from_numpy(reference["output"])).abs().max().item()
    # Measured 1.3e-6 (peak |output| 0.5): torch.stft vs torchlibrosa's conv-based DFT, float32.
    assert err < 1e-5, f"max |ours - AudioSep| = {err:.3g}"


def test_training_mode_matches_audiosep_code(reference):
    """Batch-statistics BatchNorm (bn0 over frequency bins, padded frames included) and momentum 0.01."""
    net = ResUNet30()
    net.load_state_dict(recipe_state(net), strict=True)
    wav, query = recipe_inputs(TRAIN_LENGTH)
    with torch.no_grad():
        out = net.train()(wav, query)
    err = (out - torch.from_numpy(reference["train_output"])).abs().max().item()
    assert err < 2e-5, f"max |ours - AudioSep| in training mode = {err:.3g}"  # measured 2.1e-6
    for key in TRACKED_STATS:
        np.testing.assert_allclose(net.state_dict()[key].numpy(), reference[f"after_{key}"], rtol=1e-5, atol=1e-6)


def test_parameter_counts_match_audiosep():
    full, lean = ResUNet30(), ResUNet30(drop_unused_film=True)
    assert count_parameters(full) == TRAINABLE_PARAMETERS[False] == 26_447_941  # AudioSep's own count
    assert count_parameters(lean) == TRAINABLE_PARAMETERS[True]
    dropped = unused_audiosep_keys(full.state_dict())
    dead = sum(p.numel() for name, p in full.named_parameters() if name in dropped)
    assert dead == 26_447_941 - TRAINABLE_PARAMETERS[True] == 820_800 + 3_200  # 6 beta2 heads + 6 bn2


# --------------------------------------------------------------------------------------------- invariants


def test_batched_output_equals_per_item_output(model):
    wav, query = short_inputs()
    with torch.no_grad():
        batched = model(wav, query)
        single = torch.cat([model(wav[i:i + 1], query[i:i + 1]) for i in range(2)])
        swapped = model(wav, query.flip(0))
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=0)
    assert (swapped - batched).abs().max() > 1e-2  # the query really conditions the output


@pytest.mark.parametrize("length", [int(32000 * 0.37) + 1, 777])  # odd; 777 < n_fft // 2
def test_output_length_equals_input_length(model, length):
    wav, query = recipe_inputs(length)
    with torch.no_grad():
        out = model(wav[:1], query[:1])
    assert out.shape == (1, length) and torch.isfinite(out).all()
    assert 0 < out.abs().max() < 10 * wav.abs().max()


def test_lean_variant_gives_identical_output(model):
    lean = ResUNet30(drop_unused_film=True).eval()
    lean.load_state_dict(adapt_audiosep_state(model.state_dict(), drop_unused_film=True), strict=True)
    wav, query = short_inputs()
    with torch.no_grad():
        assert torch.equal(lean(wav, query), model(wav, query))


@pytest.mark.parametrize("drop", [False, True])
def test_training_step_gradients_reach_exactly_the_used_parameters(drop):
    torch.manual_seed(0)
    net = ResUNet30(drop_unused_film=drop).train()
    wav, query = short_inputs(0.2)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # mixed precision: STFT and mask stay float32
        out = net(wav, query)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    out.square().mean().backward()
    no_grad = {n for n, p in net.named_parameters() if p.grad is None}
    assert no_grad == (set() if drop else set(unused_audiosep_keys(dict(net.named_parameters()))))


# --------------------------------------------------------------------------------------------- model dirs


def test_model_dir_round_trip_gives_identical_output(model, tmp_path):
    # A bare separator's keys and no "format": how model folders were written before the Separator module.
    config = model_config({"model": "resunet30", "kwargs": {"drop_unused_film": False}}, 32000, {"name": "hash", "path": None})
    save_model_dir(tmp_path / "m", config, model.state_dict())
    loaded, loaded_config = load_model_dir(tmp_path / "m")
    wav, query = short_inputs()
    with torch.no_grad():
        assert torch.equal(loaded(wav, query), model(wav, query))
    assert loaded_config["model"] == "resunet30"


def test_convert_lightning_checkpoint(model, reference, tmp_path):
    """AudioSep's layout under `ss_model.`, CLAP keys and pickled hyper-parameters, like their .ckpt files."""
    import argparse

    state = {f"ss_model.{k}": v for k, v in audiosep_layout_state(reference).items()}
    state["query_encoder.model.logit_scale_a"] = torch.ones(())
    ckpt = {"state_dict": state, "epoch": 0, "global_step": 7, "hyper_parameters": argparse.Namespace(lr=1e-3)}
    torch.save(ckpt, tmp_path / "audiosep.ckpt")
    with pytest.raises(CheckpointError, match="allow-pickle"):
        convert_audiosep(tmp_path / "audiosep.ckpt", tmp_path / "out")
    out_dir = convert_audiosep(tmp_path / "audiosep.ckpt", tmp_path / "out", allow_pickle=True)
    loaded, config = load_model_dir(out_dir)
    assert config["encoder"]["name"] == "laion" and config["sample_rate"] == 32000
    assert "music_speech_audioset_epoch_15_esc_89.98.pt" in (out_dir / "README.md").read_text()
    wav, query = short_inputs()
    with torch.no_grad():
        assert torch.equal(loaded(wav, query), model(wav, query))
        expected = model(wav[:1], query[:1])[0].numpy()
    from tqse.extract import Extractor

    extractor = Extractor.from_pretrained(out_dir, device="cpu")  # no CLAP needed for an embedding query
    out = extractor.extract(wav[0].numpy(), 32000, embedding=query[0].numpy(), chunk_seconds=0)
    np.testing.assert_allclose(out, expected, atol=1e-6, rtol=0)


def test_convert_cli_with_lean_variant(model, reference, tmp_path):
    import argparse

    from tqse.commands import convert as command

    state = audiosep_layout_state(reference)  # a bare ResUNet30 state dict, no pickled objects
    torch.save(state, tmp_path / "bare.pt")
    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["convert", "audiosep", str(tmp_path / "bare.pt"), str(tmp_path / "lean"),
                              "--drop-unused-film", "--encoder-path", str(tmp_path / "clap.pt")])
    assert args.func(args) == 0
    loaded, config = load_model_dir(tmp_path / "lean")
    assert config["kwargs"]["drop_unused_film"] is True
    assert config["encoder"]["path"] == str((tmp_path / "clap.pt").resolve())
    assert count_parameters(loaded) == TRAINABLE_PARAMETERS[True]
    wav, query = short_inputs()
    with torch.no_grad():
        assert torch.equal(loaded(wav, query), model(wav, query))


def test_convert_reports_missing_and_unexpected_keys(reference, tmp_path):
    state = audiosep_layout_state(reference)
    del state["base.encoder_block3.conv_block1.conv2.weight"]
    state["base.extra_layer.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "broken.pt")
    with pytest.raises(CheckpointError) as err:
        convert_audiosep(tmp_path / "broken.pt", tmp_path / "out")
    assert "encoder_block3.conv_block1.conv2.weight" in str(err.value)
    assert "base.extra_layer.weight" in str(err.value) and "broken.pt" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_checkpoint_layouts_reduce_to_the_separator_state():
    from tqse.models.convert import resunet_state

    w = torch.zeros(1)
    lightning = {"state_dict": {"ss_model.base.bn0.weight": w, "query_encoder.model.x": w}, "epoch": 1}
    hub_export = {"ss_model.base.bn0.weight": w, "query_encoder.model.x": w}
    bare = {"base.bn0.weight": w}
    for raw in (lightning, hub_export, bare):
        assert list(resunet_state(raw)) == ["base.bn0.weight"]


def test_convert_rejects_files_without_audiosep_weights(tmp_path):
    torch.save({"state_dict": {"encoder.weight": torch.zeros(2)}}, tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match="no AudioSep ResUNet30 weights"):
        convert_audiosep(tmp_path / "other.ckpt", tmp_path / "out")
    with pytest.raises(CheckpointError, match="not found"):
        convert_audiosep(tmp_path / "missing.ckpt", tmp_path / "out")


# --------------------------------------------------------------------------------------------- reference


def make_reference(audiosep_dir: str, out_path: str = str(REF_PATH)) -> None:  # pragma: no cover
    """Regenerate the fixture with AudioSep's own code (never run by the test suite).

    Run from a throw-away venv outside this repo that has torch, numpy and ``torchlibrosa==0.1.0`` (+ librosa,
    which torchlibrosa imports), with ``audiosep_dir`` a checkout of github.com/Audio-AGI/AudioSep (944583f):
    ``python -c "import test_resunet as t; t.make_reference('/tmp/AudioSep')"``.
    """
    import sys

    sys.path.insert(0, audiosep_dir)
    from models.resunet import ResUNet30 as TheirResUNet30  # AudioSep's code, never vendored here

    theirs = TheirResUNet30(input_channels=1, output_channels=1, condition_size=512).eval()
    state = theirs.state_dict()
    fixed = [k for k in state if k.startswith(("base.stft.", "base.istft."))]  # their frozen DFT kernels
    theirs.load_state_dict({k: v if k in fixed else recipe_tensor(k, v) for k, v in state.items()}, strict=True)
    wav, query = recipe_inputs()
    with torch.no_grad():
        out = theirs({"mixture": wav[:, None], "condition": query})["waveform"][:, 0]
        wav, query = recipe_inputs(TRAIN_LENGTH)
        train_out = theirs.train()({"mixture": wav[:, None], "condition": query})["waveform"][:, 0]
    after = {f"after_{k}": theirs.state_dict()[k].numpy() for k in TRACKED_STATS}  # momentum-0.01 updates
    keys = sorted(state)
    np.savez_compressed(out_path, output=out.numpy().astype(np.float32), train_output=train_out.numpy(), **after,
                        recipe_version=np.int64(RECIPE_VERSION),
                        length=np.int64(REF_LENGTH), audiosep_commit=np.str_("944583f"),
                        torchlibrosa=np.str_("0.1.0"), torch=np.str_(torch.__version__), keys=np.array(keys),
                        shapes=np.array([",".join(map(str, state[k].shape)) for k in keys]))
