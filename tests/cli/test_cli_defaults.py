"""Each default lives in one place (issue 26): an option left out means the default of the library function or
dataclass it is handed to, read from there, so the command line, the server and the API cannot drift apart."""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
from pathlib import Path

import pytest

import tqse.commands
from tqse.cli import build_parser, main
from tqse.config import DataConfig, EncoderConfig
from tqse.data.corpus.audit import audit
from tqse.data.corpus.build import build_corpus
from tqse.data.readers import folder_candidates, vggsound_candidates
from tqse.data.shards import ShardStream, shard_order, write_shards
from tqse.eval.report import runs_table
from tqse.eval.runner import ModelSeparator, evaluate
from tqse.extract import ExtractOptions
from tqse.query.builtin_train import TrainSettings
from tqse.query.cache import build_cache
from tqse.query.gap import gap_report
from tqse.serve.service import ServeConfig
from tqse.workflows.bench import bench_data, bench_extract, bench_train
from tqse.workflows.grid import run_grid


def library_default(fn, name: str):
    if dataclasses.is_dataclass(fn):
        return {f.name: f.default for f in dataclasses.fields(fn)}[name]
    return inspect.signature(fn).parameters[name].default


# argv, then option -> (the library callable it is handed to, its parameter there)
CASES = [
    (["extract", "in.wav", "-q", "x"], {"chunk_seconds": (ExtractOptions, "chunk_seconds"),
                                        "overlap_seconds": (ExtractOptions, "overlap_seconds"),
                                        "clip_mode": (ExtractOptions, "clip_mode"), "depth": (ExtractOptions, "depth")}),
    (["serve"], {name: (ServeConfig, name) for name in ("host", "port", "max_upload_mb", "max_seconds", "max_queue",
                                                        "result_ttl_s")}),
    (["bench", "extract"], {name: (bench_extract, name) for name in ("model", "seconds", "repeats", "device",
                                                                     "threads")}),
    (["bench", "train"], {name: (bench_train, name) for name in ("model", "batch_size", "seconds", "steps", "device",
                                                                 "threads", "precision")}),
    (["bench", "data"], {"seconds": (bench_data, "clip_seconds"), "mixtures": (bench_data, "mixtures")}),
    (["corpus", "build"], {"tier": (build_corpus, "tier"), "clip_seconds": (build_corpus, "clip_seconds"),
                           "seed": (build_corpus, "seed")}),
    (["corpus", "audit"], {"tier": (build_corpus, "tier"), "per_class": (audit, "per_class")}),
    (["embed", "--data", "m", "--out", "o"], {"sample_rate": (DataConfig, "sample_rate"),
                                              "crop_seconds": (DataConfig, "segment_seconds"),
                                              "batch_size": (build_cache, "batch_size"),
                                              "encoder": (EncoderConfig, "name")}),
    (["encoder", "train", "--data", "m", "--out", "o"], {name: (TrainSettings, name) for name in
                                                         ("crop_seconds", "eval_every", "seed", "threads")}),
    (["eval"], {"batch_size": (evaluate, "batch_size"), "chunk_seconds": (ModelSeparator, "chunk_seconds")}),
    (["gap", "--data", "m"], {"caption_index": (gap_report, "caption_index"), "seed": (gap_report, "seed"),
                              "crop_seconds": (gap_report, "crop_seconds"), "encoder": (EncoderConfig, "name")}),
    (["grid", "setup.yaml", "--eval", "a=b"], {"out": (run_grid, "out")}),
    (["report", "runs"], {"metric": (runs_table, "metric")}),
    (["prepare", "folder", "root", "--out", "o"], {"split": (folder_candidates, "split")}),
    (["prepare", "vggsound", "--csv", "c", "--audio", "a", "--out", "o"], {"split": (vggsound_candidates, "split")}),
    (["shards", "write", "m", "--out", "o"], {"clips_per_shard": (write_shards, "clips_per_shard")}),
    (["shards", "info", "shards.json"], {"seed": (ShardStream, "seed"), "world_size": (shard_order, "world_size"),
                                         "workers": (shard_order, "num_workers")}),
]


@pytest.mark.parametrize("argv, options", CASES, ids=[" ".join(argv[:2]) for argv, _ in CASES])
def test_an_option_left_out_is_the_library_default(argv, options):
    args = build_parser().parse_args(argv)
    for dest, (fn, name) in options.items():
        assert getattr(args, dest) == library_default(fn, name), (argv, dest)


def test_tqse_extract_hands_the_api_exactly_the_default_extract_options(monkeypatch):
    seen = []
    monkeypatch.setattr("tqse.extract.plan.run_extract", lambda request: seen.append(request) or [])
    assert main(["extract", "in.wav", "-q", "a dog"]) == 0
    assert seen[0].options == ExtractOptions()


def test_the_api_and_the_server_read_the_extract_options_defaults():
    from tqse.extract import Extractor

    for method in (Extractor.extract, Extractor.extract_file):
        params = inspect.signature(method).parameters
        for field in dataclasses.fields(ExtractOptions):
            if field.name in params and field.name != "block_seconds":  # extract(): None = all at once
                assert params[field.name].default == field.default, (method.__name__, field.name)
    assert inspect.signature(Extractor.extract_file).parameters["block_seconds"].default == \
        ExtractOptions.block_seconds
    assert ServeConfig().chunk_seconds == ExtractOptions.chunk_seconds


def test_tqse_bench_extract_runs_bench_extract_with_its_own_defaults(monkeypatch, capsys):
    calls = []

    @functools.wraps(bench_extract)  # the parser reads the defaults through the wrapper
    def record(*args, **kwargs):
        calls.append(inspect.signature(bench_extract).bind(*args, **kwargs).arguments)
        return {"ok": 1}

    monkeypatch.setattr("tqse.workflows.bench.bench_extract", record)
    assert main(["bench", "extract"]) == 0
    assert len(calls[0]) == 5 and all(value == library_default(bench_extract, name)
                                      for name, value in calls[0].items()), calls[0]


def test_tqse_encoder_train_uses_the_towers_settings_unless_told(monkeypatch, capsys):
    seen = []
    monkeypatch.setattr("tqse.query.builtin_train.train_builtin",
                        lambda data, out, settings, **kw: seen.append(settings) or {"training": {"metrics": {}}})
    base = ["encoder", "train", "--data", "m", "--out", "o"]
    assert main(base) == 0 and main([*base, "--tower", "cnn", "--steps", "7"]) == 0
    assert seen == [TrainSettings(steps=3000, batch_size=256, lr=1e-3), TrainSettings(steps=7)]


# Literals the command line keeps: no library function has a default for them (the CLI is where they live).
CLI_ONLY = {("prepare.py", "min_seconds"): "AudioSep's 1-s rule for `tqse prepare`; build_manifest keeps every clip",
            ("prepare.py", "workers"): "header-reading threads of the command (the library's is for tests)",
            ("prepare.py", "epoch"): "shard_order has no default epoch",
            ("embed.py", "device"): "encoders are built on cpu and moved: no library parameter",
            ("gap.py", "max_clips"): "the command slices the manifest itself"}


def test_commands_repeat_no_default_literal_outside_the_known_cli_only_ones():
    found = set()
    for path in Path(tqse.commands.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
                default = next((k.value for k in node.keywords if k.arg == "default"), None)
                if isinstance(default, ast.Constant) and default.value is not None:
                    flag = next(a.value for a in node.args if isinstance(a, ast.Constant))
                    found.add((path.name, flag.lstrip("-").replace("-", "_")))
    assert found == set(CLI_ONLY), found ^ set(CLI_ONLY)
