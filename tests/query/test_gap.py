"""Modality-gap figures on synthetic embeddings with a known gap, and the report end to end."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from tqse.data.manifest import read_clips
from tqse.query.builtin import ASSET_DIR
from tqse.query.gap import format_table, gap_report, modality_gap, plot_report, report_json
from tqse.query.hash_encoder import HashEncoder

FIXTURE = ASSET_DIR.parent / "fixture" / "clips.jsonl"


def _shifted_pairs(n: int = 200, d: int = 32, shift: float = 3.0):
    g = torch.Generator().manual_seed(0)
    shared = torch.randn(n, d, generator=g)
    offset = torch.zeros(d)
    offset[0] = shift  # each modality sits in its own cone: +shift / -shift along axis 0
    audio = shared + offset + 0.3 * torch.randn(n, d, generator=g)
    text = shared - offset + 0.3 * torch.randn(n, d, generator=g)
    return audio, text


def test_a_known_offset_shows_up_as_a_gap_that_centring_removes():
    audio, text = _shifted_pairs()
    gap = modality_gap(audio, text)
    assert gap["centroid_distance"] > 0.5 and gap["modality_accuracy"] > 0.95
    assert gap["paired_cos_centred"] > gap["paired_cos"] + 0.2
    assert gap["t2a_R@1"] > 0.9  # the pairs still match: the gap is a shift, not noise
    same = modality_gap(audio, audio)
    assert same["paired_cos"] == pytest.approx(1.0) and same["centroid_distance"] == pytest.approx(0.0, abs=1e-9)


def test_manipulations_are_applied_to_audio_and_shared_ones_to_text():
    audio, text = _shifted_pairs()
    remove_offset = (lambda q: q - q.mean(0), True)
    report = gap_report(HashEncoder(), [], manipulations={"centre": remove_offset, "zero": lambda q: 0 * q + 1},
                        embeddings=(audio, text))
    assert report["rows"]["centre"]["centroid_distance"] < 0.2 * report["rows"]["none"]["centroid_distance"]
    assert report["rows"]["zero"]["t2a_R@1"] < 0.05  # every audio query identical: retrieval collapses


def test_report_on_audio_with_the_paper_manipulations(tmp_path):
    clips = read_clips(FIXTURE)
    report = gap_report(HashEncoder(), clips, audio_level=True)
    assert {"none", "dropout", "noise", "mixup", "specaugment"} <= set(report["rows"])
    assert report["rows"]["noise"]["audio_audio_cos"] < report["rows"]["none"]["audio_audio_cos"]
    table = format_table(report)
    assert table.count("\n") == len(report["rows"]) + 1 and "t2a R@10" in table
    figures = json.loads(report_json(report))
    assert figures["clips"] == len(clips) and "paired" not in figures
    png = plot_report(report, tmp_path / "gap.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_pca_rows_when_enough_text_embeddings():
    audio, text = _shifted_pairs(n=40)
    report = gap_report(HashEncoder(), [], embeddings=(F.normalize(audio, dim=-1), F.normalize(text, dim=-1)))
    assert {"pca", "pca-inv"} <= set(report["rows"])
