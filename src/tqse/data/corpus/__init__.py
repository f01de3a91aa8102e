"""The built-in real-audio corpus: labelled, captioned 10 s clips from Debian-packaged sounds, rendered
instruments and synthesized speech, with group-wise splits and fixed evaluation mixtures.

Entry points: :func:`ensure_corpus` (path of ``clips.jsonl``, building it if needed),
:func:`default_corpus_dir`, :func:`build_corpus`, :func:`print_credits`. See docs/CORPUS.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tqse.data.corpus.sources import TIERS
from tqse.data.locations import default_corpus_dir, is_complete


def build_corpus(tier: str = "tiny", out: str | os.PathLike | None = None, **kwargs) -> Path:
    """Build (resume, or confirm up to date) a corpus tier; see :func:`tqse.data.corpus.build.build_corpus`."""
    from tqse.data.corpus.build import build_corpus as _build

    return _build(tier, out, **kwargs)


def ensure_corpus(tier: str = "tiny", out: str | os.PathLike | None = None) -> Path:
    """Path of the tier's ``clips.jsonl``; builds the corpus first when it is not complete."""
    if tier not in TIERS:
        from tqse.errors import ConfigError

        raise ConfigError(f"unknown corpus tier '{tier}' (choose from {', '.join(TIERS)})")
    folder = Path(out) if out else default_corpus_dir(tier)
    if is_complete(folder):
        return folder / "clips.jsonl"
    return build_corpus(tier, folder)


def credits_text(corpus_dir: str | os.PathLike) -> str:
    """Attributions of a built corpus: one block per Debian package (version, licence, copyright)."""
    from tqse.data.manifest import ManifestError

    path = Path(corpus_dir) / "credits.json"
    if not path.exists():
        raise ManifestError(f"{path}: no credits (build the corpus first: tqse corpus build)")
    lines = ["Audio in this corpus comes from these Debian packages (built locally, never redistributed):", ""]
    for item in json.loads(path.read_text()):
        role = " (speech synthesis tool)" if item.get("role") == "tool" else ""
        lines.append(f"{item['package']} {item['version']}{role}")
        lines.append(f"  licence: {item['licence']}")
        for holder in item.get("copyright", [])[:6]:
            lines.append(f"  (c) {holder}")
        lines.append(f"  full text: /usr/share/doc/{item['package']}/copyright in the package")
        lines.append("")
    return "\n".join(lines)


__all__ = ["build_corpus", "credits_text", "default_corpus_dir", "ensure_corpus"]
