"""ResUNet30: AudioSep's FiLM-conditioned residual U-Net mask estimator, re-implemented for tqse.

The second backbone of the seed paper (Saijo et al., "Leveraging Audio-Only Data for Text-Queried Target
Sound Extraction", ICASSP 2025, Sec. IV-B: "the same model as in AudioSep", 64 ms window, 10 ms hop), which
is the separator of AudioSep (Liu et al., "Separate Anything You Describe", IEEE/ACM TASLP 2024,
arXiv 2308.05037; reference code github.com/Audio-AGI/AudioSep, MIT). Written from a reading of that code,
not copied; the state-dict keys are AudioSep's (``base.*``, ``film.*``), so their weights load without
renaming (see :mod:`tqse.models.convert`).

Dimension legend:
    B batch, T samples, D query size (512 for LAION-CLAP),
    F frequency bins (n_fft // 2 + 1 = 1025), F' = F - 1 (the U-Net drops the top bin),
    N STFT frames (1 + T // hop), N' = N rounded up to a multiple of 32 (the U-Net pools time 5 times),
    C channels (32, 32, 64, 128, 256, 384, 384 down the encoder).

Pipeline: mixture ``[B, T]`` -> STFT -> magnitude ``[B, F, N]`` -> per-bin BatchNorm (``bn0``) -> zero-pad to
N', drop the top bin -> ``[B, 1, N', F']`` -> 1x1 conv -> 6 encoder blocks + centre block -> 6 decoder blocks
-> 1x1 conv to 3 maps ``[B, 3, N', F']`` -> crop to N, append a zero top bin -> magnitude mask
``sigmoid(m0)`` and phase rotation ``unit(tanh(m1) + j tanh(m2))`` applied to the mixture -> iSTFT ``[B, T]``.

Conditioning: every residual block (and every decoder's up-sampling step) adds a query-dependent bias
``Linear(D, C)(q)`` after each BatchNorm, before the LeakyReLU ("FiLM" with shift only, no scale). The
decoders' second bias (``decoder_blockK->beta2``) and second BatchNorm (``bn2``) exist in AudioSep but are
never used in its forward pass; ``drop_unused_film=True`` leaves them out.
"""

from __future__ import annotations

import re
from typing import Iterable

import torch
from torch import nn
from torch.nn import functional as F

from tqse.audio.stft import STFT

MOMENTUM = 0.01  # AudioSep's BatchNorm momentum
SLOPE = 0.01  # LeakyReLU negative slope
STEM = 32  # channels after pre_conv
ENCODER_CHANNELS = (32, 64, 128, 256, 384, 384)  # outputs of encoder_block1..6; the centre block keeps 384
POOLS = ((2, 2), (2, 2), (2, 2), (2, 2), (2, 2), (1, 2))  # (time, freq) pooling of encoder_block1..6
TIME_MULTIPLE = 32  # 2 ** (number of time poolings)
MASK_MAPS = 3  # magnitude logit, phase real, phase imag


def shift_act(bn: nn.BatchNorm2d, x: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """``LeakyReLU(BN(x) + beta)``; in eval mode BN and the FiLM shift are folded into one ``addcmul``.

    Same result as the plain form to float32 rounding (measured 4e-8 on the output), ~15% less CPU time.
    """
    if bn.training or bn.running_var is None:
        return F.leaky_relu(bn(x) + beta, SLOPE, inplace=True)
    scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    return F.leaky_relu(torch.addcmul(shift[:, None, None] + beta, x, scale[:, None, None]), SLOPE, inplace=True)


class ResBlock(nn.Module):
    """``ConvBlockRes``: pre-activation residual block, BN + FiLM bias -> LeakyReLU -> 3x3 conv, twice.

    Shape:
        x: ``[B, C_in, N', F']`` -> ``[B, C_out, N', F']``.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels, momentum=MOMENTUM)
        self.bn2 = nn.BatchNorm2d(out_channels, momentum=MOMENTUM)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        # A 1x1 projection only where the width changes (AudioSep stores no key otherwise).
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None
        self.film_channels = {"beta1": in_channels, "beta2": out_channels}
        self.film_path = ""  # set by ResUNet30: this block's prefix in the FiLM dict

    def forward(self, x: torch.Tensor, betas: dict[str, torch.Tensor]) -> torch.Tensor:
        h = self.conv1(shift_act(self.bn1, x, betas[self.film_path + "beta1"]))
        h = self.conv2(shift_act(self.bn2, h, betas[self.film_path + "beta2"]))
        return (x if self.shortcut is None else self.shortcut(x)) + h


class EncoderBlock(nn.Module):
    """``EncoderBlockRes1B``: one residual block, then average pooling. Returns (pooled, skip)."""

    def __init__(self, in_channels: int, out_channels: int, pool: tuple[int, int]):
        super().__init__()
        self.conv_block1 = ResBlock(in_channels, out_channels)
        self.pool = pool

    def forward(self, x: torch.Tensor, betas: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        skip = self.conv_block1(x, betas)
        pooled = skip if self.pool == (1, 1) else F.avg_pool2d(skip, self.pool)
        return pooled, skip


class DecoderBlock(nn.Module):
    """``DecoderBlockRes1B``: BN + FiLM bias -> LeakyReLU -> transposed conv (up-sampling), concatenate the
    skip, residual block on the ``2 * C_out`` channels.

    Shape:
        x: ``[B, C_in, n, f]``, skip: ``[B, C_out, n * up_t, f * up_f]`` -> ``[B, C_out, n * up_t, f * up_f]``.
    """

    def __init__(self, in_channels: int, out_channels: int, up: tuple[int, int], keep_unused: bool):
        super().__init__()
        self.conv1 = nn.ConvTranspose2d(in_channels, out_channels, up, stride=up, bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels, momentum=MOMENTUM)
        self.conv_block2 = ResBlock(2 * out_channels, out_channels)
        self.film_channels = {"beta1": in_channels}
        if keep_unused:
            # Never called in AudioSep's forward pass either; kept so their state dict loads strictly.
            self.bn2 = nn.BatchNorm2d(in_channels, momentum=MOMENTUM)
            self.film_channels["beta2"] = in_channels
        self.film_path = ""

    def forward(self, x: torch.Tensor, skip: torch.Tensor, betas: dict[str, torch.Tensor]) -> torch.Tensor:
        x = self.conv1(shift_act(self.bn1, x, betas[self.film_path + "beta1"]))
        return self.conv_block2(torch.cat((x, skip), dim=1), betas)


class UNet(nn.Module):
    """The spectrogram U-Net (AudioSep's ``ResUNet30_Base`` without its STFT modules).

    Shape:
        magnitude ``[B, F, N]`` -> mask logits ``[B, 3, N, F]`` (top bin zero).
    """

    def __init__(self, freq_bins: int, keep_unused: bool):
        super().__init__()
        self.bn0 = nn.BatchNorm1d(freq_bins, momentum=MOMENTUM)  # same keys/statistics as their BatchNorm2d
        self.pre_conv = nn.Conv2d(1, STEM, 1)
        widths = (STEM, *ENCODER_CHANNELS)
        for i in range(1, 7):
            setattr(self, f"encoder_block{i}", EncoderBlock(widths[i - 1], widths[i], POOLS[i - 1]))
        self.conv_block7a = EncoderBlock(widths[6], widths[6], (1, 1))
        for i in range(1, 7):  # decoder i mirrors encoder 7 - i
            block = DecoderBlock(widths[min(8 - i, 6)], widths[7 - i], POOLS[6 - i], keep_unused)
            setattr(self, f"decoder_block{i}", block)
        self.after_conv = nn.Conv2d(STEM, MASK_MAPS, 1)

    def forward(self, mag: torch.Tensor, betas: dict[str, torch.Tensor]) -> torch.Tensor:
        frames = mag.shape[-1]
        x = self.bn0(mag).transpose(1, 2).unsqueeze(1)  # [B, 1, N, F]
        # Zero-pad time *after* bn0 (as AudioSep does) and drop the top bin so every pooling divides evenly.
        x = F.pad(x, (0, 0, 0, -frames % TIME_MULTIPLE))[..., :-1]
        if not self.training:
            # Channels-last: ~25% less CPU time in oneDNN convolutions. Not in training: torch's CPU
            # BatchNorm computes batch statistics on channels-last tensors ~100x less precisely.
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.pre_conv(x)
        skips = []
        for i in range(1, 7):
            x, skip = getattr(self, f"encoder_block{i}")(x, betas)
            skips.append(skip)
        x, _ = self.conv_block7a(x, betas)
        for i in range(1, 7):
            x = getattr(self, f"decoder_block{i}")(x, skips[6 - i], betas)
        x = self.after_conv(x)
        return F.pad(x, (0, 1))[:, :, :frames]  # restore the top bin as zero logits, crop the padding


class FiLMBias(nn.Module):
    """One ``Linear(D, C)`` per conditioned BatchNorm, named ``<block path with '->'>-><slot>`` as in AudioSep.

    Shape:
        query ``[B, D]`` -> ``{name: [B, C, 1, 1]}``.
    """

    def __init__(self, query_dim: int, slots: dict[str, int]):
        super().__init__()
        for name, channels in slots.items():
            layer = nn.Linear(query_dim, channels)
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
            self.add_module(name, layer)  # '->' is legal in a module name ('.' is not)

    def forward(self, query: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: layer(query)[:, :, None, None] for name, layer in self.named_children()}


class ResUNet30(nn.Module):
    """AudioSep's ResUNet30 separator: ``(mixture [B, T], query [B, D]) -> estimate [B, T]``.

    Args:
        query_dim: size D of the query embedding (512 for LAION-CLAP, as in AudioSep).
        sample_rate: the rate the model works at (stored in model dirs; AudioSep: 32 kHz).
        n_fft: STFT size (window = n_fft, periodic Hann, centred, reflect padding); ``n_fft // 2`` must be a
            multiple of 64. 2048 (64 ms at 32 kHz) in AudioSep.
        hop: STFT hop (320 = 10 ms at 32 kHz).
        drop_unused_film: leave out the decoders' ``beta2`` FiLM heads and ``bn2`` norms, which AudioSep
            creates but never uses: 25,623,941 instead of 26,447,941 trainable parameters, identical output,
            and no parameters without gradients (plain DDP works without ``find_unused_parameters``).

    Shape:
        mixture ``[B, T]``, query ``[B, D]`` -> ``[B, T]`` (float32).
    """

    def __init__(self, query_dim: int = 512, sample_rate: int = 32000, n_fft: int = 2048, hop: int = 320,
                 drop_unused_film: bool = False):
        super().__init__()
        if n_fft % 128:
            raise ValueError(f"n_fft={n_fft}: n_fft // 2 must be divisible by 64 (six frequency poolings)")
        self.query_dim, self.sample_rate, self.n_fft, self.hop = query_dim, sample_rate, n_fft, hop
        self.stft = STFT(n_fft, hop)
        self.base = UNet(n_fft // 2 + 1, keep_unused=not drop_unused_film)
        slots = {}
        for path, module in self.base.named_modules():
            if isinstance(module, (ResBlock, DecoderBlock)):
                module.film_path = path.replace(".", "->") + "->"
                slots.update({module.film_path + slot: c for slot, c in module.film_channels.items()})
        self.film = FiLMBias(query_dim, slots)
        self._init_weights()

    def _init_weights(self) -> None:
        # AudioSep's init: Xavier-uniform conv weights, zero biases; BatchNorm keeps gamma=1, beta=0.
        for module in self.base.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, mixture: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        if mixture.ndim != 2 or query.ndim != 2 or query.shape != (mixture.shape[0], self.query_dim):
            raise ValueError(f"expected mixture [B, T] and query [B, {self.query_dim}], got "
                             f"{tuple(mixture.shape)} and {tuple(query.shape)}")
        length = mixture.shape[-1]
        # Reflect padding needs more than n_fft // 2 samples; shorter inputs get zeros appended, then cropped.
        short = max(0, self.n_fft // 2 + 1 - length)
        with torch.autocast(mixture.device.type, enabled=False):
            spec = self.stft(F.pad(mixture.float(), (0, short)))  # [B, F, N] complex
            power = spec.real.square() + spec.imag.square()
            mag = power.clamp_min(1e-10).sqrt()
            cos, sin = spec.real / mag, spec.imag / mag
        logits = self.base(mag, self.film(query))  # may run in reduced precision under autocast
        with torch.autocast(mixture.device.type, enabled=False):
            est = self._apply_mask(logits.float().transpose(2, 3), mag, cos, sin)
            return self.stft.inverse(est, length + short)[:, :length]

    @staticmethod
    def _apply_mask(logits: torch.Tensor, mag: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """Magnitude mask + phase residual (AudioSep's ``feature_maps_to_wav``), all ``[B, F, N]``.

        ``|Y| = |X| sigmoid(m0)``, ``angle(Y) = angle(X) + angle(tanh(m1) + j tanh(m2))``. Where both tanh
        values are zero (the restored top bin) the rotation is 0 + 0j, so that bin comes out silent.
        """
        gain = torch.sigmoid(logits[:, 0])
        re, im = torch.tanh(logits[:, 1]), torch.tanh(logits[:, 2])
        # sqrt(max(s, 1e-20)) == max(sqrt(s), 1e-10) as in AudioSep, but with a finite gradient at s = 0.
        norm = (re.square() + im.square()).clamp_min(1e-20).sqrt()
        rot_cos, rot_sin = re / norm, im / norm
        out_mag = mag * gain
        return torch.complex(out_mag * (cos * rot_cos - sin * rot_sin), out_mag * (sin * rot_cos + cos * rot_sin))


UNUSED_KEY_PATTERN = re.compile(r"^(film\.decoder_block\d+->beta2|base\.decoder_block\d+\.bn2)\.")


def unused_audiosep_keys(state_keys: Iterable[str]) -> list[str]:
    """The keys of an AudioSep ResUNet30 state dict that ``drop_unused_film=True`` leaves out."""
    return sorted(k for k in state_keys if UNUSED_KEY_PATTERN.match(k))
