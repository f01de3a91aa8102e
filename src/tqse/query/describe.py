"""Say what a query was understood as: the nearest known sounds, with their similarity, and a warning when the
query is far from all of them.

    >>> d = describe_query("a barking hound", encoder, classes)
    >>> d.summary()
    'dog 0.81, wolf 0.62, big cat 0.48'
    >>> d.familiar, d.warning
    (True, None)

Similarity is the cosine between the query's text embedding and each class *prototype*: the normalised mean
text embedding of many prompts around the class name (:func:`tqse.query.paraphrase.prompt_ensemble`),
through the same encoder. The shipped built-in versions' prototypes come with them (``classes.safetensors`` in
each version's folder); other encoders' are computed once per process and class list. A query whose best similarity is below
the encoder's calibrated threshold is *unfamiliar*. The threshold is set on the evaluation-only captions
(``benchmarks/describe_threshold.py``, stored in ``tqse/assets/captions/describe_calibration.json``): the 5th
percentile of the best similarity of captions of known classes, so 1 in 20 of them is flagged; the same
script reports how many captions about other sounds it flags. An encoder without a calibration gets
``familiar=None`` (not judged).

Wiring (CLI ``-v``, ``Extractor.describe_query``, the web page) passes the text, the model's encoder and the
classes the model was trained on; the result is plain data (:meth:`QueryDescription.to_dict`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from tqse.query.paraphrase import prompt_ensemble

CALIBRATION = Path(__file__).resolve().parents[1] / "assets" / "captions" / "describe_calibration.json"
_TABLES: dict[tuple[str, tuple[str, ...]], "ClassTable"] = {}


@dataclass(frozen=True)
class QueryDescription:
    """What a query was understood as.

    Attributes:
        query: the text (None when an embedding was described).
        nearest: ``(class, cosine similarity)`` pairs, most similar first.
        familiar: False when the best similarity is under ``threshold``; None when the encoder has no
            calibrated threshold.
        threshold: the encoder's threshold (None when uncalibrated).
    """

    query: str | None
    nearest: tuple[tuple[str, float], ...]
    familiar: bool | None
    threshold: float | None

    def summary(self) -> str:
        return ", ".join(f"{name} {sim:.2f}" for name, sim in self.nearest)

    @property
    def warning(self) -> str | None:
        """One line for a user when the query is unfamiliar, else None."""
        if self.familiar is not False:
            return None
        what = f"'{self.query}'" if self.query is not None else "this query"
        return (f"{what} is far from every sound this model was trained on (nearest: {self.summary()}); it will "
                f"extract whatever is closest to it")

    def to_dict(self) -> dict:
        return {"query": self.query, "nearest": [{"class": n, "similarity": round(s, 4)} for n, s in self.nearest],
                "familiar": self.familiar, "threshold": self.threshold, "warning": self.warning}


@dataclass
class ClassTable:
    """Class prototypes of one encoder: ``prototypes [K, D]`` rows in ``classes`` order; ``audio [K, D]`` the
    class audio centroids when known."""

    encoder: str
    classes: list[str]
    prototypes: torch.Tensor
    audio: torch.Tensor | None = field(default=None)


def _read_table(path: Path, fallback_classes: list[str] | None = None) -> tuple[list[str], dict[str, torch.Tensor]]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        tensors = {k: f.get_tensor(k).float() for k in f.keys()}
    classes = json.loads(meta["classes"]) if "classes" in meta else list(fallback_classes or [])
    return classes, tensors


def shipped_class_table(encoder_name: str | None = None) -> ClassTable | None:
    """The class prototypes shipped with a built-in version (``classes.safetensors`` in its folder) whose
    encoder is ``encoder_name`` (default: the latest version), or None. Shipping them saves computing ~2,000
    prompt embeddings in every process that describes a query."""
    from tqse.query.builtin import LATEST, VERSIONS, encoder_identity

    folders = [VERSIONS[LATEST]] if encoder_name is None else list(VERSIONS.values())
    for folder in folders:
        if not (folder / "classes.safetensors").exists():
            continue
        name = encoder_identity(folder)[0]
        if encoder_name is not None and name != encoder_name:
            continue
        config = json.loads((folder / "config.json").read_text())
        classes, tensors = _read_table(folder / "classes.safetensors", config.get("classes"))
        return ClassTable(name, classes, tensors["prototypes"], tensors.get("audio"))
    return None


def save_class_table(table: ClassTable, path: str | Path) -> None:
    """Write ``table`` as ``classes.safetensors`` (prototypes, audio centroids when known, class names in the
    metadata) for :func:`shipped_class_table`."""
    from safetensors.torch import save_file

    tensors = {"prototypes": table.prototypes.float().contiguous()}
    if table.audio is not None:
        tensors["audio"] = table.audio.float().contiguous()
    save_file(tensors, str(path), metadata={"classes": json.dumps(table.classes), "encoder": table.encoder})


def class_table(encoder, classes: list[str]) -> ClassTable:
    """Prototypes of ``classes`` for ``encoder``: the shipped ones when the encoder is the one they were made
    with, the rest computed (and kept for the process) from the prompt ensemble."""
    key = (encoder.name, tuple(classes))
    if key in _TABLES:
        return _TABLES[key]
    shipped = shipped_class_table(encoder.name) if str(encoder.name).startswith("builtin:") else None
    known = dict(zip(shipped.classes, shipped.prototypes)) if shipped is not None else {}
    rows = []
    for name in classes:
        if name not in known:
            with torch.no_grad():
                known[name] = F.normalize(encoder.embed_text(prompt_ensemble(name)).float().cpu().mean(0), dim=0)
        rows.append(known[name])
    _TABLES[key] = ClassTable(encoder.name, list(classes), torch.stack(rows))
    return _TABLES[key]


def model_classes(config: dict) -> list[str]:
    """The sounds a model knows, for describing its queries: the classes its folder records
    (``trained_with.classes``, written by training), else every class of the built-in corpus (what every
    model shipped so far was trained on, targets and interferers; the threshold was set with these known)."""
    from tqse.data.corpus.taxonomy import CLASSES

    recorded = (config.get("trained_with") or {}).get("classes")
    if isinstance(recorded, list) and recorded and all(isinstance(c, str) for c in recorded):
        return list(recorded)
    return sorted(CLASSES)


def calibrated_threshold(encoder_name: str) -> float | None:
    if not CALIBRATION.exists():
        return None
    entry = json.loads(CALIBRATION.read_text()).get("encoders", {}).get(encoder_name)
    return None if entry is None else float(entry["threshold"])


def describe_query(query: str | torch.Tensor, encoder, classes: list[str], top: int = 3,
                   threshold: float | None = None, table: ClassTable | None = None) -> QueryDescription:
    """Describe one query (a caption, or a ``[D]`` text embedding of ``encoder``).

    Args:
        classes: the sounds the model knows (the classes it was trained on).
        top: how many nearest classes to list.
        threshold: override the encoder's calibrated threshold.
        table: precomputed prototypes (:func:`class_table`), e.g. kept by a server.

    Raises:
        QueryError: empty, non-text or overlong text (the same checks as extraction), or a malformed embedding.
    """
    from tqse.errors import QueryError
    from tqse.query.text_query import text_queries

    if not classes:
        raise QueryError("no known classes to describe the query against")
    if torch.is_tensor(query):
        if query.dim() != 1 or query.numel() != getattr(encoder, "dim", query.numel()) or not torch.isfinite(query).all():
            raise QueryError(f"the query embedding must be a finite [{getattr(encoder, 'dim', 'D')}] vector, "
                             f"got shape {list(query.shape)}")
        text, vector = None, F.normalize(query.float().cpu(), dim=0)
    else:
        (text,), _ = text_queries(query)
        with torch.no_grad():
            vector = encoder.embed_text([text])[0].float().cpu()
    table = table or class_table(encoder, classes)
    rows = [table.classes.index(c) for c in classes]
    sims = table.prototypes[rows] @ vector
    order = sims.argsort(descending=True)[:top].tolist()
    nearest = tuple((classes[i], float(sims[i])) for i in order)
    threshold = calibrated_threshold(encoder.name) if threshold is None else threshold
    familiar = None if threshold is None else bool(nearest[0][1] >= threshold)
    return QueryDescription(text, nearest, familiar, threshold)


def ship_class_table(version: int) -> Path:
    """Compute a shipped built-in version's prototypes of every lexicon class and store them in its folder
    (``classes.safetensors``); version 2's are written by its training (:mod:`tqse.query.text_train`).

        python -m tqse.query.describe --ship 1
    """
    from tqse.query.builtin import BuiltinEncoder, version_folder
    from tqse.query.paraphrase import load_lexicon

    encoder = BuiltinEncoder(version=version)
    table = class_table(encoder, sorted(load_lexicon()))
    path = version_folder(version) / "classes.safetensors"
    save_class_table(table, path)
    return path


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tqse.query.describe", description=ship_class_table.__doc__)
    parser.add_argument("--ship", type=int, required=True, help="built-in encoder version")
    print(ship_class_table(parser.parse_args().ship))
