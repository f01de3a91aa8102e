"""Python API: ``Extractor.from_pretrained(model_dir).extract(audio, text="a dog barking")``.

The extractor owns a separator (rebuilt by name from a model directory) and the query encoder its config
names. Audio of any rate and channel count goes in; the extracted sound comes back at the input's rate and
shape. Long input is separated in overlapping chunks with cross-fade (:mod:`tqse.streaming`), and
:meth:`Extractor.extract_file` streams from and to disk so memory stays bounded whatever the length.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from tqse.audio.io import AudioError, audio_info, iter_blocks, load_audio, validate_audio
from tqse.audio.resample import StreamResampler, match_length, resample
from tqse.errors import QueryError
from tqse.models.model_dir import load_model_dir, load_query_transform
from tqse.streaming import ChunkedSeparator

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SECONDS = 10.0
DEFAULT_OVERLAP_SECONDS = 1.0
MIN_MODEL_SAMPLES = 2048  # below the STFT's reflect padding: zero-pad, separate, crop


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


class Extractor:
    """Separator + query encoder, ready to extract.

    Args:
        model: a separator taking ``(mixture [B, T], query [B, D])``.
        config: the model directory's config (``sample_rate``, ``encoder`` ...).
        encoder: a :class:`~tqse.query.base.QueryEncoder`; built from ``config["encoder"]`` when omitted.
    """

    def __init__(self, model: torch.nn.Module, config: dict[str, Any], encoder=None, device: str | None = None):
        self.device = torch.device(device or default_device())
        self.model = model.to(self.device).eval()
        self.config = config
        self.sample_rate = int(config["sample_rate"])
        self._encoder = encoder
        self.query_transform = None  # PCA / PCA-inv for models trained with it

    @classmethod
    def from_pretrained(cls, model_dir: str | os.PathLike, device: str | None = None, encoder=None) -> "Extractor":
        """Load a model directory (``config.json`` + ``model.safetensors``)."""
        device = device or default_device()
        model, config = load_model_dir(model_dir, device=device)
        extractor = cls(model, config, encoder=encoder, device=device)
        extractor.query_transform = load_query_transform(model_dir, config)
        return extractor

    @property
    def encoder(self):
        if self._encoder is None:  # built on first use: an embedding-only caller never needs CLAP weights
            from tqse.query.registry import encoder_from_config

            self._encoder = encoder_from_config(self.config["encoder"])
            if isinstance(self._encoder, torch.nn.Module):
                self._encoder.to(self.device)
        return self._encoder

    # -- queries -----------------------------------------------------------------------------------------
    def embed_query(self, *, text: str | None = None, audio_query=None, audio_query_rate: int | None = None,
                    embedding=None) -> torch.Tensor:
        """Exactly one of ``text``, ``audio_query`` (path or array), ``embedding`` (``[D]``) -> ``[1, D]``."""
        given = [name for name, value in (("text", text), ("audio_query", audio_query), ("embedding", embedding))
                 if value is not None]
        if len(given) != 1:
            raise QueryError(f"give exactly one of text, audio_query, embedding (got {given or 'none'})")
        if text is not None:
            if not isinstance(text, str) or not text.strip():
                raise QueryError("the text query is empty")
            query = self.encoder.embed_text([text.strip()])
        elif audio_query is not None:
            if isinstance(audio_query, (str, os.PathLike)):
                wav, rate = load_audio(audio_query)
            else:
                if audio_query_rate is None:
                    raise QueryError("audio_query given as an array needs audio_query_rate")
                wav, rate = validate_audio(np.asarray(audio_query, np.float32), "audio query"), audio_query_rate
            query = self.encoder.embed_audio(torch.as_tensor(wav).reshape(1, -1), rate)
        else:
            query = torch.as_tensor(np.asarray(embedding, np.float32)).reshape(1, -1)
            if not torch.isfinite(query).all():
                raise QueryError("the query embedding contains NaN/Inf")
        if self.query_transform is not None and embedding is None:
            query = self.query_transform.to(query.device)(query)
        expected = getattr(self.model, "query_dim", query.shape[-1])
        if query.shape[-1] != expected:
            raise QueryError(f"query embedding has {query.shape[-1]} dimensions, the model expects {expected}")
        return query.float().to(self.device)

    # -- separation --------------------------------------------------------------------------------------
    @torch.inference_mode()
    def separate(self, mixture: np.ndarray, query: torch.Tensor) -> np.ndarray:
        """Run the separator once on ``[C, n]`` model-rate audio (channels as batch) -> ``[C, n]``."""
        n = mixture.shape[-1]
        x = torch.from_numpy(np.ascontiguousarray(mixture, np.float32)).to(self.device)
        if n < MIN_MODEL_SAMPLES:
            x = torch.nn.functional.pad(x, (0, MIN_MODEL_SAMPLES - n))
        y = self.model(x, query.expand(x.shape[0], -1))
        return y[:, :n].float().cpu().numpy()

    def _chunker(self, query: torch.Tensor, channels: int, chunk_seconds: float, overlap_seconds: float):
        chunk = int(round(chunk_seconds * self.sample_rate))
        overlap = int(round(overlap_seconds * self.sample_rate))
        return ChunkedSeparator(lambda seg: self.separate(seg, query), chunk, overlap, channels)

    def extract(self, audio, sample_rate: int | None = None, *, text: str | None = None, audio_query=None,
                embedding=None, chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
                overlap_seconds: float = DEFAULT_OVERLAP_SECONDS, audio_query_rate: int | None = None) -> np.ndarray:
        """Extract the queried sound from ``audio`` (a path, or an array ``[T]``/``[T, C]`` with ``sample_rate``).

        Returns float32 audio with the input's rate and shape. ``chunk_seconds=0`` disables chunking.
        """
        if isinstance(audio, (str, os.PathLike)):
            wav, sample_rate = load_audio(audio, mono=False)
        else:
            if sample_rate is None:
                raise AudioError("audio given as an array needs sample_rate")
            wav = validate_audio(np.asarray(audio, np.float32), "input audio")
        query = self.embed_query(text=text, audio_query=audio_query, embedding=embedding,
                                 audio_query_rate=audio_query_rate)
        squeeze = wav.ndim == 1
        channels_first = np.atleast_2d(wav.T if wav.ndim == 2 else wav)  # [C, T]
        model_rate = np.stack([resample(ch, sample_rate, self.sample_rate) for ch in channels_first])
        chunker = self._chunker(query, model_rate.shape[0], chunk_seconds, overlap_seconds)
        out = np.concatenate([chunker.push(model_rate), chunker.finish()], axis=1)
        out = np.stack([match_length(resample(ch, self.sample_rate, sample_rate), wav.shape[0]) for ch in out])
        return out[0] if squeeze else out.T

    def extract_file(self, in_path: str | os.PathLike, out_path: str | os.PathLike, *, text: str | None = None,
                     audio_query=None, embedding=None, chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
                     overlap_seconds: float = DEFAULT_OVERLAP_SECONDS, block_seconds: float = 30.0) -> Path:
        """Stream ``in_path`` -> ``out_path`` (same rate and channels) with bounded memory; written atomically."""
        if not chunk_seconds:
            raise QueryError("extract_file streams in chunks: chunk_seconds must be > 0")
        info = audio_info(in_path)
        query = self.embed_query(text=text, audio_query=audio_query, embedding=embedding)
        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_path.with_name(f".{out_path.name}.tmp{os.getpid()}")
        chunker = self._chunker(query, info.channels, chunk_seconds, overlap_seconds)
        to_model = StreamResampler(info.sample_rate, self.sample_rate, info.channels)
        to_file = StreamResampler(self.sample_rate, info.sample_rate, info.channels)
        writer = _BoundedWriter(tmp, info.sample_rate, info.frames, info.channels, out_path.suffix)
        try:
            for block in iter_blocks(in_path, max(1, int(block_seconds * info.sample_rate)), mono=False):
                if not np.isfinite(block).all():
                    raise AudioError(f"{in_path}: audio contains NaN/Inf samples")
                writer.write(to_file.process(chunker.push(to_model.process(block).T).T))
            tail = chunker.push(to_model.process(np.zeros((0, info.channels), np.float32), last=True).T)
            writer.write(to_file.process(np.concatenate([tail, chunker.finish()], axis=1).T, last=True))
            writer.close()
        except BaseException:
            writer.file.close()
            tmp.unlink(missing_ok=True)
            raise
        if writer.peak < 1e-9:
            log.warning("%s: the extracted sound is silent", out_path)
        os.replace(tmp, out_path)
        return out_path


class _BoundedWriter:
    """Writes exactly ``frames`` samples: drops resampler overshoot, zero-pads any shortfall at close."""

    def __init__(self, path: Path, sample_rate: int, frames: int, channels: int, suffix: str):
        fmt = (suffix.lstrip(".") or "wav").upper()
        if fmt not in sf.available_formats():
            raise AudioError(f"{path}: cannot write audio format '{fmt}'")
        self.file = sf.SoundFile(str(path), "w", samplerate=sample_rate, channels=channels, format=fmt)
        self.remaining, self.channels, self.peak = frames, channels, 0.0

    def write(self, samples: np.ndarray) -> None:
        """``samples``: ``[n, C]``."""
        samples = samples[: self.remaining]
        if samples.size:
            self.file.write(samples)
            self.remaining -= samples.shape[0]
            self.peak = max(self.peak, float(np.abs(samples).max()))

    def close(self) -> None:
        if self.remaining > 0:
            self.file.write(np.zeros((self.remaining, self.channels), np.float32))
        self.file.close()
