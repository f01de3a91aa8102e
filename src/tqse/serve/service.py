"""What the server does, independent of HTTP: load one model, decode uploads, run extractions, describe models.

Uploads are decoded from memory by soundfile (never written to disk, never trusted by name or extension);
results go to the job's temporary folder (:mod:`tqse.serve.jobs`) under names chosen here.
"""

from __future__ import annotations

import io
import json
import math
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from tqse.extract.options import ExtractOptions
from tqse.serve import examples
from tqse.serve.jobs import JobQueue, ProgressFn, UserFacingError
from tqse.serve.spectrogram import HOP, power_db, render, shared_scale

log = logging.getLogger(__name__)

STEMS = ("mixture", "extracted", "residual")
MAX_QUERY_CHARS = 500
SPEC_WIDTH = 640


# The command-line spelling of each setting, for error messages.
OPTION_NAMES = {"max_upload_mb": "--max-upload-mb", "max_seconds": "--max-seconds", "max_queue": "--max-queue",
                "result_ttl_s": "--result-ttl"}


@dataclass
class ServeConfig:
    """Server settings (the CLI's options; every default lives here)."""

    host: str = "127.0.0.1"
    port: int = 8080
    model: str | None = None  # a model name or directory; None = tqse.models.pretrained.default_model_dir()
    device: str | None = None
    max_upload_mb: float = 64.0  # whole request body
    max_seconds: float = 600.0  # mixture (and audio query) duration
    max_queue: int = 8  # extractions waiting or running; more get 503
    result_ttl_s: float = 900.0  # how long results stay downloadable
    max_kept_jobs: int = 32
    chunk_seconds: float = ExtractOptions.chunk_seconds  # separation chunk (bounded memory, progress steps)

    def validate(self) -> None:
        from tqse.errors import ConfigError

        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port {self.port}: must be 0-65535")
        for name in ("max_upload_mb", "max_seconds", "max_queue", "result_ttl_s", "max_kept_jobs", "chunk_seconds"):
            value = getattr(self, name)
            # inf is refused too: the limits travel as JSON to the page, which has no Infinity
            if not (math.isfinite(value) and value > 0):
                option = OPTION_NAMES.get(name, name)
                raise ConfigError(f"{option} {value:g}: must be a positive finite number")


@dataclass
class DecodedRequest:
    """A decoded request: mixture ``[T, C]`` at ``rate`` and exactly one query."""

    mixture: np.ndarray
    rate: int
    text: str | None = None
    audio_query: np.ndarray | None = None  # mono [T]
    audio_query_rate: int | None = None
    query_label: str = ""


# -- models ----------------------------------------------------------------------------------------------
def model_summary(model_dir: Path, config: dict[str, Any], parameters: int | None = None) -> dict:
    """The model's own name (its config's, else its folder's), architecture, rate, encoder, what it was trained
    on and one plain figure per evaluation set (:func:`tqse.models.card.plain_summary`), and any raw scores the
    folder carries (``card.json``, ``scores.json`` or ``config["scores"]``/``config["trained_with"]["scores"]``)."""
    from tqse.models.card import plain_summary

    scores: dict = {}
    for name in ("card.json", "scores.json"):
        path = model_dir / name
        if path.is_file():
            try:
                data = json.loads(path.read_text())
                scores = data.get("scores", data) if isinstance(data, dict) else {}
            except (OSError, json.JSONDecodeError):
                log.warning("%s: unreadable, ignored", path)
            break
    scores = scores or config.get("scores") or config.get("trained_with", {}).get("scores") or {}
    plain = plain_summary(model_dir, config)
    return {"name": plain["name"], "model": config.get("model"), "sample_rate": config.get("sample_rate"),
            "encoder": config.get("encoder", {}).get("name"), "parameters": parameters, "scores": scores,
            "trained_on": plain["trained_on"], "figures": [f["line"] for f in plain["figures"]],
            "has_card": plain["card"] is not None}


# -- requests --------------------------------------------------------------------------------------------
def decode_audio(data: bytes, what: str, max_seconds: float) -> tuple[np.ndarray, int]:
    """Upload bytes -> ``([T, C] float32, rate)``; :class:`UserFacingError` unless soundfile can decode it."""
    from tqse.audio.io import AudioError, validate_audio

    if not data:
        raise UserFacingError(f"{what}: the uploaded file is empty")
    try:
        info = sf.info(io.BytesIO(data))
    except Exception:  # libsndfile says little that helps a user; any failure means "not audio we read"
        raise NotAudio(f"{what}: not an audio file this server can decode (WAV, FLAC, OGG, MP3 ...)") from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise UserFacingError(f"{what}: the audio has zero length")
    seconds = info.frames / info.samplerate
    if seconds > max_seconds:
        raise TooLong(f"{what}: {seconds:.1f} s is longer than this server's limit of {max_seconds:g} s")
    try:
        wav, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
        validate_audio(wav, what)
    except AudioError as err:
        raise UserFacingError(str(err)) from None
    except Exception:
        raise UserFacingError(f"{what}: corrupt audio data") from None
    return wav, int(rate)


def page_text_query(text: str) -> str:
    """``text`` unless it is longer than the page accepts (the form and the live description share the bound)."""
    if len(text) > MAX_QUERY_CHARS:
        raise UserFacingError(f"the text query is longer than {MAX_QUERY_CHARS} characters")
    return text


class TooLong(UserFacingError):
    """Audio longer than the configured maximum (answered with 413)."""


class NotAudio(UserFacingError):
    """Bytes soundfile cannot decode (answered with 415)."""


def build_request(fields: dict[str, tuple[bytes, bool]], config: ServeConfig) -> DecodedRequest:
    """Form fields (name -> (bytes, is_file)) -> a validated :class:`DecodedRequest`.

    Mixture: ``mixture`` (file) or ``example`` (a bundled mixture id). Query: exactly one of ``query``
    (text), ``audio_query`` (file), ``query_example`` (a bundled clip id).
    """
    unknown = set(fields) - {"mixture", "example", "query", "audio_query", "query_example"}
    if unknown:
        raise UserFacingError(f"unknown form field(s): {', '.join(sorted(unknown))}")
    if ("mixture" in fields) == ("example" in fields):
        raise UserFacingError("give the mixture as a file (field 'mixture') or a bundled example (field 'example')")
    if "example" in fields:
        mixture, rate = examples.mixture_audio(_lookup(fields["example"][0], examples.MIXTURES, "example"))
        mixture = mixture[:, None]
    else:
        mixture, rate = decode_audio(fields["mixture"][0], "mixture", config.max_seconds)
    given = [name for name in ("query", "audio_query", "query_example") if name in fields]
    if "query" in given and not fields["query"][0].strip():
        given.remove("query")
    if len(given) != 1:
        raise UserFacingError("give exactly one query: text (field 'query'), an audio file (field 'audio_query') "
                              f"or a bundled clip (field 'query_example'); got {given or 'none'}")
    request = DecodedRequest(mixture, rate)
    if given == ["query"]:
        try:
            text = fields["query"][0].decode("utf-8").strip()
        except UnicodeDecodeError:
            raise UserFacingError("the text query is not valid UTF-8") from None
        request.text = request.query_label = page_text_query(text)
    else:
        if given == ["query_example"]:
            key = _lookup(fields["query_example"][0], examples.QUERIES, "query_example")
            wav, qrate = examples.query_audio(key)
            request.query_label = f"audio example: {examples.QUERIES[key][1]}"
        else:
            wav, qrate = decode_audio(fields["audio_query"][0], "audio query", config.max_seconds)
            wav = wav.mean(axis=1)
            request.query_label = "uploaded audio query"
        request.audio_query, request.audio_query_rate = np.ascontiguousarray(wav, np.float32), qrate
    return request


def _lookup(raw: bytes, table: dict, field: str) -> str:
    key = raw.decode("utf-8", "replace").strip()
    if key not in table:
        raise UserFacingError(f"{field}: unknown id {key[:40]!r} (choose one of {', '.join(table)})")
    return key


# -- the work --------------------------------------------------------------------------------------------
class ExtractService:
    """One loaded model and the queue that feeds it."""

    def __init__(self, config: ServeConfig, extractor=None, model_dir: Path | None = None):
        from tqse.extract import Extractor
        from tqse.errors import USER_ERRORS
        from tqse.models.pretrained import resolve_model

        self.config = config
        self.model_dir = Path(model_dir) if model_dir else resolve_model(config.model)
        self.extractor = extractor or Extractor.from_pretrained(self.model_dir, device=config.device)
        self.extractor.encoder  # load the query encoder now: a missing weight file fails at start, not per request
        # /api/describe runs on the request's thread while a job embeds on the worker's; a tokenizer must not
        # be entered from two threads at once (Hugging Face fast tokenizers fail with "Already borrowed").
        self.encoder_lock = threading.Lock()
        parameters = sum(p.numel() for p in self.extractor.model.parameters())
        self.card = model_summary(self.model_dir, self.extractor.config, parameters)
        self.jobs = JobQueue(self.process, config.max_queue, config.result_ttl_s, config.max_kept_jobs,
                             internal_errors=USER_ERRORS)

    def models(self) -> list[dict]:
        """The loaded model first, then every other model ``tqse models`` lists."""
        from dataclasses import asdict

        from tqse.models.pretrained import list_models

        listed = [{**self.card, "loaded": True}]
        for info in list_models():
            if info.path.resolve() != self.model_dir.resolve():
                listed.append({k: v for k, v in asdict(info).items() if k != "path"} | {"loaded": False})
        return listed

    def describe(self, text: str) -> dict:
        """What a text query is understood as (the page shows it as one types, and with each result): the
        nearest known sounds with their similarity and a warning when the text is far from all of them."""
        from tqse.errors import QueryError

        text = page_text_query(text.strip())
        try:
            with self.encoder_lock:
                return self.extractor.describe_query(text).to_dict()
        except QueryError as err:  # empty or unusable text: the same one line as extraction gives
            raise UserFacingError(str(err)) from None

    def process(self, request: DecodedRequest, out_dir: Path, progress: ProgressFn) -> dict:
        understood = self.describe(request.text) if request.text else None
        extracted, residual = self._separate(request, progress)
        peak = max(float(np.abs(x).max()) for x in (request.mixture, extracted, residual))
        gain = 1.0 if peak <= 1.0 else 0.99 / peak  # one gain for all three: 16-bit WAV without clipping
        stems = {"mixture": request.mixture, "extracted": extracted, "residual": residual}
        for name, wav in stems.items():
            sf.write(str(out_dir / f"{name}.wav"), wav * gain, request.rate, subtype="PCM_16", format="WAV")
        scale = self._spectrograms(stems, request.rate, out_dir)
        progress(1.0)
        n, channels = request.mixture.shape
        return {"model": self.card["name"], "query": request.query_label, "sample_rate": request.rate,
                "channels": channels, "seconds": round(n / request.rate, 3), "gain": round(gain, 4),
                "spectrogram": scale.to_json(),
                "files": {name: {"wav": f"wav/{name}.wav", "png": f"png/{name}.png"} for name in STEMS},
                "understood": understood}

    def _separate(self, request: DecodedRequest, progress: ProgressFn) -> tuple[np.ndarray, np.ndarray]:
        """``(extracted, residual)`` ``[T, C]``: the API's extraction (what ``tqse extract`` gives), a chunk of
        input at a time so the page can show progress."""
        total, done = request.mixture.shape[0] / request.rate, 0.0

        def advance(seconds: float) -> None:
            nonlocal done
            done += seconds
            progress(0.9 * min(done / total, 1.0))

        return self.extractor.extract(
            request.mixture, request.rate, text=request.text, audio_query=request.audio_query,
            audio_query_rate=request.audio_query_rate, layout="TC", residual=True,
            chunk_seconds=self.config.chunk_seconds, block_seconds=self.config.chunk_seconds, progress=advance)

    @staticmethod
    def _spectrograms(stems: dict[str, np.ndarray], rate: int, out_dir: Path):
        n = next(iter(stems.values())).shape[0]
        hop = max(HOP, int(np.ceil(n / (4 * SPEC_WIDTH))))  # at most ~4 frames per pixel: bounded memory
        dbs = {name: power_db(wav.mean(axis=1), hop=hop) for name, wav in stems.items()}
        scale = shared_scale(dbs["mixture"], n / rate, rate)
        for name, db in dbs.items():
            (out_dir / f"{name}.png").write_bytes(render(db, scale, width=SPEC_WIDTH))
        return scale

    def close(self) -> None:
        self.jobs.close()
