"""Features of the mixture from a pretrained audio network, as a second input of the separator.

Issue 22's pretrained-features candidate: CLAPSep (Ma et al., 2024) builds its separator on CLAP's frozen
audio encoder applied to the mixture, and reports that this helps most when training data are few. tqse's
built-in query encoder already ships a pretrained sound-effects CNN (the aisfx trunk, Ma & Lerch, ISMIR
2022), so its first ``blocks`` blocks, frozen, turn the mixture into frame-level features that a
zero-initialised linear layer adds to the Conformer's hidden states: a model warm-started from a trained
separator begins exactly where that separator was, and learns how much to use them.

Dimensions: B batch, T samples at the model rate, N' trunk frames (23 ms at the first block's input, halved
by each block), C trunk channels, N separator frames, D model width.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

TRUNK_RATE = 32000      # the trunk's front end (46 / 23 ms STFT, 96 mels) was trained at this rate


def upsample(wav: torch.Tensor, factor: int) -> torch.Tensor:
    """Band-limited integer upsampling by zero-padding the spectrum (exact for the model's band)."""
    if factor == 1:
        return wav
    n = wav.shape[-1]
    spec = torch.fft.rfft(wav.float(), dim=-1)
    return torch.fft.irfft(spec, n=n * factor, dim=-1) * factor


class EncoderTrunkFeatures(nn.Module):
    """Frozen first ``blocks`` blocks of the built-in encoder's aisfx trunk, and a trained projection.

    Args:
        sample_rate: model rate; must divide 32 kHz (16 kHz: the mixture is upsampled by 2 first).
        blocks: 1-3 trunk blocks (64, 128, 256 channels): deeper is more semantic and costs more.
        out_dim: the separator's width ``D``.
    Shape:
        forward(mixture ``[B, T]``, frames ``N``) -> ``[B, N, D]``.
    """

    def __init__(self, sample_rate: int, blocks: int, out_dim: int):
        super().__init__()
        from tqse.query.builtin import AISFX_CONFIG, ASSET_DIR, AisfxBlock, AisfxFrontEnd

        if TRUNK_RATE % sample_rate:
            raise ValueError(f"mixture features need a model rate that divides {TRUNK_RATE} Hz, not {sample_rate}")
        if not 1 <= blocks <= len(AISFX_CONFIG["channels"]):
            raise ValueError(f"mixture_features must be 1-{len(AISFX_CONFIG['channels'])} trunk blocks, not {blocks}")
        self.factor = TRUNK_RATE // sample_rate
        self.front = AisfxFrontEnd({**AISFX_CONFIG, "sample_rate": TRUNK_RATE})
        channels = list(AISFX_CONFIG["channels"][:blocks])
        self.blocks = nn.ModuleList(AisfxBlock(a, b) for a, b in zip([1, *channels[:-1]], channels))
        self._load_pretrained(ASSET_DIR / "weights.safetensors")
        self.blocks.requires_grad_(False)
        self.proj = nn.Linear(channels[-1], out_dim)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def _load_pretrained(self, weights) -> None:
        from safetensors.torch import load_file

        state = load_file(str(weights))
        self.blocks.load_state_dict({k.removeprefix("cnn.blocks."): v for k, v in state.items()
                                     if k.startswith("cnn.blocks.") and int(k.split(".")[2]) < len(self.blocks)})

    def train(self, mode: bool = True) -> "EncoderTrunkFeatures":
        super().train(mode)
        self.blocks.eval()          # frozen: its BatchNorm keeps the pretrained statistics
        return self

    def forward(self, mixture: torch.Tensor, frames: int) -> torch.Tensor:
        with torch.no_grad():
            x = self.front(upsample(mixture, self.factor))[:, None]  # [B, 1, N', M]
            for block in self.blocks:
                x = block(x)
            x = F.interpolate(x.mean(-1), size=frames, mode="linear", align_corners=False)  # [B, C, N]
        return self.proj(x.transpose(1, 2))
