"""load_encoder by name / path / model-dir dict, and the embed, gap and encoder commands in-process."""

from __future__ import annotations

import argparse
import json

import pytest

from tqse.errors import CheckpointError
from tqse.query.builtin import ASSET_DIR
from tqse.query.registry import ENCODERS, encoder_from_config, load_encoder

FIXTURE = str(ASSET_DIR.parent / "fixture" / "clips.jsonl")


def _cli(*argv: str) -> int:
    from tqse.commands import embed, encoder, gap

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    for module in (embed, gap, encoder):
        module.register(sub)
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_names_paths_and_model_dir_dicts():
    assert {"builtin", "laion", "msclap", "hf", "hash"} <= set(ENCODERS)
    assert encoder_from_config({"name": "hash", "kwargs": {"dim": 8}}).dim == 8
    assert load_encoder(str(ASSET_DIR)).name == load_encoder("builtin-v1").name  # a folder with weights.safetensors
    with pytest.raises(CheckpointError, match="unknown query encoder"):
        load_encoder("clapp")
    with pytest.raises(CheckpointError, match="needs path"):
        load_encoder("msclap")
    with pytest.raises(CheckpointError, match="'name'"):
        encoder_from_config({"path": "x"})


def test_unknown_file_types_are_refused(tmp_path):
    weird = tmp_path / "weights.ckpt"
    weird.write_bytes(b"")
    with pytest.raises(CheckpointError, match="cannot tell"):
        load_encoder(str(weird))
    with pytest.raises(CheckpointError, match="not an encoder folder"):
        load_encoder(str(tmp_path))


def test_embed_gap_and_info_commands(tmp_path, capsys):
    assert _cli("embed", "--data", FIXTURE, "--out", str(tmp_path / "cache"), "--encoder", "hash",
                "--crop-seconds", "3") == 0
    from tqse.query.cache import EmbeddingCache

    assert len(EmbeddingCache.open(tmp_path / "cache", load_encoder("hash").name)) == 12
    capsys.readouterr()
    assert _cli("gap", "--data", FIXTURE, "--encoder", "hash", "--json", "--plot", str(tmp_path / "g.png")) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(figures["rows"]) >= {"none", "dropout", "noise"} and (tmp_path / "g.png").exists()
    assert _cli("encoder", "info", "--encoder", "builtin") == 0
    info = json.loads(capsys.readouterr().out)
    assert info["name"].startswith("builtin:") and info["trained"]["metrics"]
