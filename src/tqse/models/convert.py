"""Turn AudioSep's released weights into a tqse model directory (``tqse convert audiosep``).

Accepted inputs (``.ckpt``/``.pt``/``.pth``/``.bin`` via ``torch.load``, or ``.safetensors``):
    * AudioSep's Lightning checkpoint: ``{"state_dict": {"ss_model.base.…", "ss_model.film.…",
      "query_encoder.…"}, …}``; the query-encoder (CLAP) weights are ignored: tqse loads its own encoder;
    * a ``PyTorchModelHubMixin`` export (the same keys, not nested under ``state_dict``);
    * a bare ResUNet30 state dict (``base.…``, ``film.…``).

Key mapping: none. tqse's :class:`~tqse.models.resunet.ResUNet30` uses AudioSep's key names. The only keys
dropped are torchlibrosa's frozen STFT/iSTFT kernels (``base.stft.*``, ``base.istft.*``: fixed DFT matrices
that tqse computes with ``torch.stft``) and, with ``drop_unused_film``, the dead decoder ``beta2`` FiLM heads
and ``bn2`` norms (:func:`~tqse.models.resunet.unused_audiosep_keys`). Everything else must match exactly.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch

from tqse.errors import CheckpointError
from tqse.files import file_sha256
from tqse.models.model_dir import model_config, save_model_dir
from tqse.models.resunet import ResUNet30, unused_audiosep_keys
from tqse.models.separator import Separator

PREFIX = "ss_model."
STFT_PREFIXES = ("base.stft.", "base.istft.")
DEFAULT_ENCODER = {"name": "laion", "path": None, "kwargs": {}}
CLAP_FILE = "music_speech_audioset_epoch_15_esc_89.98.pt"


def load_checkpoint(path: str | os.PathLike, *, allow_pickle: bool = False) -> dict[str, Any]:
    """Read a checkpoint file as a dict, refusing pickled objects unless ``allow_pickle`` is set."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as err:
            raise CheckpointError(f"{path}: unreadable safetensors file ({err})") from None
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if not allow_pickle:
            raise CheckpointError(
                f"{path}: the checkpoint contains pickled Python objects (Lightning checkpoints may store "
                f"hyper-parameters or callback state this way) and was not loaded; if you trust the file, "
                f"rerun with --allow-pickle (allow_pickle=True). Detail: {str(err).splitlines()[0]}") from None
        raw = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # truncated zip, not a torch file, ...
        raise CheckpointError(f"{path}: unreadable checkpoint ({err})") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: expected a dict of tensors, found {type(raw).__name__}")
    return raw


def resunet_state(raw: dict[str, Any], source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The ResUNet30 entries of a Lightning checkpoint, hub export or bare state dict, without ``ss_model.``."""
    state = raw.get("state_dict", raw)
    if not isinstance(state, dict):
        raise CheckpointError(f"{source}: 'state_dict' is not a dict")
    if any(k.startswith(PREFIX) for k in state):  # a whole AudioSep model: keep only the separator
        state = {k[len(PREFIX):]: v for k, v in state.items() if k.startswith(PREFIX)}
    if not any(k.startswith(("base.", "film.")) for k in state):
        sample = ", ".join(list(state)[:5])
        raise CheckpointError(f"{source}: no AudioSep ResUNet30 weights found (expected keys 'ss_model.base.…' "
                              f"or 'base.…'; found e.g. {sample or 'nothing'})")
    return state


def adapt_audiosep_state(state: dict[str, torch.Tensor], *, drop_unused_film: bool = False,
                         source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """AudioSep ResUNet30 state dict -> exactly the state dict of ``ResUNet30(drop_unused_film=...)``.

    Raises:
        CheckpointError: listing missing and unexpected keys, or tensors of the wrong shape.
    """
    state = {k: v for k, v in state.items() if not k.startswith(STFT_PREFIXES)}
    if drop_unused_film:
        for key in unused_audiosep_keys(state):
            del state[key]
    bins = state.get("base.bn0.weight")
    n_fft = 2048 if bins is None else 2 * (bins.numel() - 1)
    if n_fft != 2048:
        raise CheckpointError(f"{source}: this ResUNet30 has {n_fft // 2 + 1} frequency bins (n_fft={n_fft}, "
                              f"e.g. the 16 kHz DCASE 2024 variant); only AudioSep's 32 kHz / 2048-point model "
                              f"is supported")
    with torch.device("meta"):  # key names and shapes only: no memory, no init cost
        expected = ResUNet30(drop_unused_film=drop_unused_film).state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{source}: not an AudioSep ResUNet30 state dict: {len(missing)} missing key(s) "
                              f"{_preview(missing)}, {len(unexpected)} unexpected key(s) {_preview(unexpected)}")
    wrong = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
             if tuple(state[k].shape) != tuple(v.shape)]
    if wrong:
        raise CheckpointError(f"{source}: {len(wrong)} tensor(s) have the wrong shape: {_preview(wrong)}")
    return {k: state[k].to(device="cpu", dtype=expected[k].dtype) for k in expected}


def convert_audiosep(ckpt_path: str | os.PathLike, out_dir: str | os.PathLike, *, drop_unused_film: bool = False,
                     encoder: dict[str, Any] | None = None, allow_pickle: bool = False) -> Path:
    """Write a tqse model directory (``resunet30``, 32 kHz) from an AudioSep checkpoint.

    Args:
        ckpt_path: AudioSep Lightning checkpoint, hub export or bare ResUNet30 state dict.
        out_dir: model directory to (over)write atomically.
        drop_unused_film: build the variant without the dead decoder FiLM heads (identical output).
        encoder: the ``encoder`` entry of the model config; default LAION-CLAP with no path set.
        allow_pickle: fall back to ``torch.load(weights_only=False)`` for checkpoints holding pickled
            objects. Only for files you trust: unpickling can run arbitrary code.

    Returns:
        ``out_dir`` as a Path; :func:`tqse.models.model_dir.load_model_dir` loads it.
    """
    ckpt_path = Path(ckpt_path)
    state = resunet_state(load_checkpoint(ckpt_path, allow_pickle=allow_pickle), str(ckpt_path))
    state = adapt_audiosep_state(state, drop_unused_film=drop_unused_film, source=str(ckpt_path))
    kwargs = {"query_dim": 512, "sample_rate": 32000, "n_fft": 2048, "hop": 320,
              "drop_unused_film": drop_unused_film}
    encoder = dict(encoder or DEFAULT_ENCODER)
    trained_with = {"source": "AudioSep (Liu et al., 'Separate Anything You Describe', 2023)",
                    "checkpoint": ckpt_path.name, "sha256": file_sha256(ckpt_path),
                    "converted_by": "tqse convert audiosep", "query_encoder": f"LAION-CLAP {CLAP_FILE}"}
    separator = Separator("resunet30", kwargs)
    separator.separator.load_state_dict(state)  # adapt_audiosep_state checked the keys and shapes
    config = model_config(separator.model_args(), 32000, encoder, trained_with)
    readme = _README.format(name=ckpt_path.name, clap=CLAP_FILE, drop=drop_unused_film,
                            encoder_path=encoder.get("path") or "not set")
    return save_model_dir(out_dir, config, separator.state_dict(), extra_files={"README.md": readme})


def _preview(items: list[str], limit: int = 6) -> str:
    shown = ", ".join(items[:limit])
    return f"[{shown}{', …' if len(items) > limit else ''}]"


_README = """# AudioSep ResUNet30 converted to tqse

Separator weights from `{name}`, converted by `tqse convert audiosep` (drop_unused_film={drop}).

* Model: AudioSep's ResUNet30 (Liu et al., "Separate Anything You Describe", IEEE/ACM TASLP 2024,
  arXiv 2308.05037), 32 kHz, STFT 2048/320, FiLM-conditioned on a 512-d CLAP embedding.
  Code: https://github.com/Audio-AGI/AudioSep (MIT). Check the AudioSep repository for the terms of the
  released weights; they are not relicensed by this conversion.
* Query encoder: AudioSep was trained with LAION-CLAP `{clap}` (HTSAT-base audio tower, RoBERTa text
  tower, no fusion). This model only works with that encoder: point the `encoder` entry of `config.json`
  at that file (`tqse convert audiosep ... --encoder-path PATH`, or edit `"path"`). Current path: {encoder_path}.
* The query-encoder weights inside the AudioSep checkpoint and torchlibrosa's fixed STFT kernels were not
  copied; tqse computes the same STFT with `torch.stft`.
* Fine-tune from here with tqse, e.g. with audio-only data and embedding dropout (Saijo et al., ICASSP 2025).
"""
