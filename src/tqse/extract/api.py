"""Python API: ``Extractor.from_pretrained("NAME" | DIR).extract(audio, text="a dog barking")``.

The extractor owns a separator (rebuilt by name from a model folder) and the query encoder its config names.
Audio goes in as a path, a numpy array or a torch tensor, ``[T]``, ``[C, T]`` or ``[T, C]`` (see
:func:`~tqse.extract.options.to_channels_first`), at any rate; the result has the input's rate, layout and
type. A list of queries gives a list of results, separated in one batch. Long input is separated in
overlapping chunks with cross-fade (:mod:`tqse.extract.stream`), and :meth:`Extractor.extract_file` streams
from and to disk so memory stays bounded.

Devices are checked before any weights are read, so a device problem is reported as one: ``--device cuda`` on
a machine without a GPU used to surface as "unreadable weights" (safetensors failing to map tensors onto
CUDA); :func:`resolve_device` says what is wrong with the device and what to use instead.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tqse.audio.io import AudioError, load_audio
from tqse.errors import DeviceError, ExtractionError, QueryError
from tqse.extract.options import (ExtractOptions, audio_queries, embedding_queries, sample_rate as check_rate,
                                  text_queries, to_channels_first)
from tqse.extract.stream import Progress, array_source, file_source, run
from tqse.models.model_dir import load_model_dir

log = logging.getLogger(__name__)

MIN_MODEL_SAMPLES = 2048  # below the STFT's reflect padding: zero-pad, separate, crop


class Extractor:
    """Separator + query encoder, ready to extract.

    Args:
        model: a :class:`~tqse.models.separator.Separator` (with the query projection it was trained with).
        config: the model folder's config (``sample_rate``, ``encoder`` ...).
        encoder: a :class:`~tqse.query.base.QueryEncoder`; built from ``config["encoder"]`` when omitted.
        device: ``cpu``, ``cuda``, ``cuda:1``...; default cuda when available.
    """

    def __init__(self, model: torch.nn.Module, config: dict[str, Any], encoder=None, device: str | None = None):
        self.device = resolve_device(device)
        try:
            self.model = model.to(self.device).eval()
        except RuntimeError as err:  # out of memory, driver faults: a device problem, not a model problem
            raise DeviceError(f"device {self.device}: cannot hold the model ({str(err).splitlines()[0]})") from None
        self.config = config
        self.sample_rate = int(config["sample_rate"])
        self._encoder = encoder
        self.model_dir: Path | None = None

    @classmethod
    def from_pretrained(cls, name_or_dir: str | os.PathLike | None = None, device: str | None = None,
                        encoder=None) -> "Extractor":
        """Load a model by name (``tqse models``), folder path, ``hf://org/name``, or the default (None)."""
        from tqse.models.pretrained import resolve_model

        device = resolve_device(device)  # first: a device problem must not look like a weights problem
        model_dir = resolve_model(name_or_dir)
        model, config = load_model_dir(model_dir, device="cpu")
        extractor = cls(model, config, encoder=encoder, device=str(device))
        extractor.model_dir = Path(model_dir)
        return extractor

    def save_pretrained(self, out_dir: str | os.PathLike, scores: dict[str, float] | None = None) -> Path:
        """Write ``config.json``, ``model.safetensors`` (with any query transform) and a ``README.md`` card."""
        from tqse.models.model_dir import save_model_dir
        from tqse.models.pretrained import model_card

        config = {**self.config, **self.model.model_args()}
        return save_model_dir(out_dir, config, self.model.state_dict(),
                              extra_files={"README.md": model_card(config, scores)})

    @property
    def encoder(self):
        if self._encoder is None:  # built on first use: an embedding-only caller never needs CLAP weights
            from tqse.query.registry import encoder_from_config

            self._encoder = encoder_from_config(self.config["encoder"])
            if isinstance(self._encoder, torch.nn.Module):
                self._encoder.to(self.device)
        return self._encoder

    # -- queries -----------------------------------------------------------------------------------------
    def known_sounds(self) -> list[str]:
        """The sounds this model was trained on, as :meth:`describe_query` names them
        (:func:`tqse.query.describe.model_classes`)."""
        from tqse.query.describe import model_classes

        return model_classes(self.config)

    def describe_query(self, text: str, top: int = 3):
        """What the model's encoder understands ``text`` as: the ``top`` nearest known sounds with their cosine
        similarity, and a warning naming them when the text is far from every one (threshold set on
        evaluation captions, :mod:`tqse.query.describe`).

        Returns:
            a :class:`~tqse.query.describe.QueryDescription` (``.summary()``, ``.warning``, ``.to_dict()``).
        Raises:
            QueryError: empty, non-text or overlong text, as :meth:`extract` does.
        """
        from tqse.query.describe import describe_query

        return describe_query(text, self.encoder, self.known_sounds(), top=top)

    def embed_query(self, *, text: str | None = None, audio_query=None, audio_query_rate: int | None = None,
                    embedding=None) -> torch.Tensor:
        """Exactly one of ``text``, ``audio_query`` (path or array), ``embedding`` (``[D]``, in the encoder's
        space like the others: the model applies its own query projection) -> ``[1, D]``."""
        return self.embed_queries(text=text, audio_query=audio_query, audio_query_rate=audio_query_rate,
                                  embedding=embedding)[0][:1]

    def embed_queries(self, *, text=None, audio_query=None, audio_query_rate: int | None = None,
                      embedding=None) -> tuple[torch.Tensor, bool]:
        """Like :meth:`embed_query` but each may be a list (``embedding``: ``[Q, D]``) -> ``([Q, D], is_list)``."""
        given = [name for name, value in (("text", text), ("audio_query", audio_query), ("embedding", embedding))
                 if value is not None]
        if len(given) != 1:
            raise QueryError(f"give exactly one of text, audio_query, embedding (got {given or 'none'})")
        if text is not None:
            texts, many = text_queries(text)
            query = self.encoder.embed_text(texts)
        elif audio_query is not None:
            clips, many = audio_queries(audio_query, audio_query_rate)
            query = torch.cat([self.encoder.embed_audio(torch.as_tensor(w).reshape(1, -1), r) for w, r in clips])
        else:
            query, many = embedding_queries(embedding)
        expected = self.model.query_dim
        if query.shape[-1] != expected:
            raise QueryError(f"query embedding has {query.shape[-1]} dimensions, the model expects {expected}")
        if not torch.isfinite(query).all():
            raise QueryError(f"the {given[0]} query gives a NaN/Inf embedding (an audio query far too loud?)")
        return query.float().to(self.device), many

    # -- separation --------------------------------------------------------------------------------------
    @torch.inference_mode()
    def separate(self, mixture: np.ndarray, query: torch.Tensor) -> np.ndarray:
        """Run the separator once on ``[C, n]`` model-rate audio for ``Q`` queries ``[Q, D]`` -> ``[Q * C, n]``
        (query-major: rows ``q * C .. q * C + C - 1`` belong to query ``q``)."""
        n, channels = mixture.shape[-1], mixture.shape[0]
        x = torch.from_numpy(np.ascontiguousarray(mixture, np.float32)).to(self.device)
        if n < MIN_MODEL_SAMPLES:
            x = torch.nn.functional.pad(x, (0, MIN_MODEL_SAMPLES - n))
        x = x.repeat(query.shape[0], 1)
        y = self.model(x, query.repeat_interleave(channels, dim=0))
        if not torch.isfinite(y).all():
            raise ExtractionError(self._nan_cause(mixture, query))
        return y[:, :n].float().cpu().numpy()

    def _nan_cause(self, mixture: np.ndarray, query: torch.Tensor) -> str:
        norm = float(query.norm(dim=-1).max())
        if not np.isfinite(norm) or norm > 1e3:  # encoders give unit-norm embeddings
            return (f"the model produced NaN/Inf: the query embedding's norm is {norm:.3g} (encoders give about 1): "
                    "pass an embedding from the model's encoder")
        if any(not torch.isfinite(p).all() for p in self.model.parameters()):
            where = f" ({self.model_dir})" if self.model_dir else ""
            return f"the model produced NaN/Inf: its weights contain NaN/Inf{where}: retrain or re-export the model"
        peak = float(np.abs(mixture).max(initial=0.0))
        return (f"the model produced NaN/Inf on input with peak {peak:.3g}: the input level is outside what the "
                "model handles, or its weights are broken")

    def extract(self, audio, sample_rate: int | None = None, *, text=None, audio_query=None, embedding=None,
                chunk_seconds: float = ExtractOptions.chunk_seconds,
                overlap_seconds: float = ExtractOptions.overlap_seconds, audio_query_rate: int | None = None,
                layout: str | None = None, residual: bool = False, block_seconds: float | None = None,
                progress: Progress | None = None):
        """Extract the queried sound(s) from ``audio``.

        Args:
            audio: a path (result ``[T]`` for mono, ``[T, C]`` otherwise, like soundfile), or a numpy array /
                torch tensor ``[T]``, ``[C, T]`` or ``[T, C]`` with ``sample_rate`` (``layout`` settles a
                shape that fits both, e.g. ``layout="CT"``).
            text: a caption or a list of captions (one result per caption, one batch).
            chunk_seconds: chunk length (``0``: the whole signal at once); ``overlap_seconds`` cross-fade.
            residual: also return the mixture minus the estimate, as ``(estimate, residual)``.
            block_seconds: input processed between ``progress`` calls (the result does not depend on it);
                default: all of it at once.
            progress: called after each block with the seconds of input it held.
        Returns:
            The input's layout and type (torch in, torch out), float; a list when a list of queries was given.
        """
        block = ExtractOptions.block_seconds if block_seconds is None else block_seconds
        options = ExtractOptions(chunk_seconds, overlap_seconds, block).checked()
        if isinstance(audio, (str, os.PathLike)):
            wav, sample_rate = load_audio(audio, mono=False)
            audio = wav[:, 0] if wav.shape[1] == 1 else wav
            layout = "T" if wav.shape[1] == 1 else "TC"
        elif sample_rate is None:
            raise AudioError("audio given as an array needs sample_rate")
        rate = check_rate("sample_rate", sample_rate)
        data, shape = to_channels_first(audio, "input audio", layout)
        source = array_source(data, rate)
        queries, many = self.embed_queries(text=text, audio_query=audio_query, embedding=embedding,
                                           audio_query_rate=audio_query_rate)
        gain = source.input_gain()
        if block_seconds is None:  # the audio is in memory already: stream it as one block
            options = replace(options, block_seconds=max(options.block_seconds, source.seconds + 1))
        blocks = list(run(self, source, queries, options, gain, progress))
        results = []
        for q in range(queries.shape[0]):
            parts = [shape.restore(_unscale(np.concatenate([getattr(b, k)[:, q] for b in blocks]).T, gain))
                     for k in (("estimate", "residual") if residual else ("estimate",))]
            results.append(tuple(parts) if residual else parts[0])
        return results if many else results[0]

    def extract_file(self, in_path: str | os.PathLike, out_path: str | os.PathLike, *, text=None, audio_query=None,
                     embedding=None, chunk_seconds: float = ExtractOptions.chunk_seconds,
                     overlap_seconds: float = ExtractOptions.overlap_seconds,
                     block_seconds: float = ExtractOptions.block_seconds,
                     residual_path: str | os.PathLike | None = None, depth: str | None = ExtractOptions.depth,
                     clip_mode: str = ExtractOptions.clip_mode, progress=None) -> Path:
        """Stream ``in_path`` -> ``out_path`` (same rate and channels) with bounded memory; written atomically.

        ``residual_path`` also writes the mixture minus the estimate; ``depth`` is ``int16`` (default for
        PCM formats), ``int24`` or ``float32``; ``clip_mode`` ``rescale`` | ``clamp`` | ``none``.
        """
        from tqse.extract.output import check_outputs, extract_to_files

        options = ExtractOptions(chunk_seconds, overlap_seconds, block_seconds, clip_mode, depth).checked()
        if not options.chunk_seconds:
            raise QueryError("extract_file streams in chunks: chunk_seconds must be > 0")
        queries, _ = self.embed_queries(text=text, audio_query=audio_query, embedding=embedding)
        source = file_source(in_path)
        outputs = check_outputs(source, [out_path], [residual_path], depth=options.depth)
        extract_to_files(self, source, outputs, queries, options, progress)
        return Path(out_path)


def _unscale(out: np.ndarray, gain: float) -> np.ndarray:
    """Back from the model domain to the input's level; refuse what float32 cannot hold."""
    if gain == 1.0:
        return out
    with np.errstate(over="ignore"):
        back = (out.astype(np.float64) / gain).astype(np.float32)
    if not np.isfinite(back).all():
        raise ExtractionError("the extracted sound exceeds the float32 range at the input's level "
                              "(input near the float32 maximum): lower the input level")
    return back


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` (or the default) as a usable :class:`torch.device`; :class:`DeviceError` otherwise."""
    if device is None:
        return torch.device(default_device())
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise DeviceError(f"device {device!r}: not a device name (use cpu, cuda, cuda:1 or mps)") from None
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise DeviceError(f"device {device!r}: CUDA is not available on this machine (no NVIDIA GPU or "
                              "driver, or a CPU-only torch build): use --device cpu")
        if resolved.index is not None and resolved.index >= count:
            raise DeviceError(f"device {device!r}: this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1})")
    elif resolved.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise DeviceError(f"device {device!r}: Apple MPS is not available on this machine: use --device cpu")
    elif resolved.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"device {device!r}: tqse runs on cpu, cuda or mps, not {resolved.type}")
    return resolved
