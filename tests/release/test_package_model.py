"""``tqse package RUN_DIR OUT_DIR``: a run's checkpoint becomes a shippable model folder (float16 weights, scores,
card, credits), and a model continued from another one's weights states its whole training history."""

import json
from pathlib import Path

import yaml

from tqse.workflows import package


def _parent(folder: Path, name: str, steps: int, minutes: float) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"name": name, "training": {"steps": steps,
                                                                              "train_minutes": minutes}}))
    (folder / "model.safetensors").write_bytes(name.encode())
    return folder


def _run(tmp_path: Path, init_from: str | None) -> Path:
    run = tmp_path / "run"
    run.mkdir(parents=True)
    train = {"init_from": init_from, "lr": 1e-3, "warmup_steps": 100, "constant_steps": 0, "decay_every": 300,
             "decay_factor": 0.8}
    (run / "config.yaml").write_text(yaml.safe_dump({"train": train}))
    (run / "env.json").write_text(json.dumps({"device": "cpu", "torch": "2.13.0+cpu", "git_sha": "abc"}))
    (run / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "train_seconds": s * 0.5}) + "\n"
                                               for s in (300, 600, 900)))
    return run


def test_a_continued_model_counts_its_parents_steps_and_minutes(tmp_path):
    parent = _parent(tmp_path / "v0", "tqse-v0", 6000, 53.3)
    summary = package.training_summary(_run(tmp_path, str(parent)), 600)
    assert summary["steps"] == 6600 and summary["train_minutes"] == 58.3  # 53.3 + 600 steps x 0.5 s
    assert summary["continued_from"] == {"name": "tqse-v0", "steps": 6000, "train_minutes": 53.3}
    text = package.lineage(summary)
    assert "6000 steps as `tqse-v0`, then 600 more" in text and "x0.8 every 300" in text


def test_a_model_trained_from_scratch_has_no_lineage(tmp_path):
    summary = package.training_summary(_run(tmp_path, None), 900)
    assert summary["steps"] == 900 and summary["train_minutes"] == 7.5 and package.lineage(summary) == ""


def test_the_parent_is_the_model_the_run_started_from_even_after_its_folder_is_overwritten(tmp_path):
    from tqse.train.lineage import record_parent

    shipped = _parent(tmp_path / "default_model", "tqse-v1", 12000, 106.4)
    run = _run(tmp_path, str(shipped))
    record_parent(run, str(shipped))  # what training does when it starts from init_from
    # the run's result is then shipped into the same folder
    (shipped / "config.json").write_text(json.dumps({"name": "tqse-v2", "training": {"steps": 12900}}))
    summary = package.training_summary(run, 900)
    assert summary["continued_from"]["name"] == "tqse-v1" and summary["steps"] == 12900


def _checkpoint_of(run: Path, step: int) -> Path:
    """A training checkpoint folder as training writes it: no ``training`` record, a training state."""
    import torch

    folder = run / "checkpoints" / f"step-{step}"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model": "tcn", "kwargs": {}}))
    (folder / "model.safetensors").write_bytes(b"weights")
    torch.save({"step": step, "optimizer": {}, "scheduler": {}, "rng": {}}, folder / "training_state.pt")
    return folder


def test_a_run_continued_from_another_runs_checkpoint_counts_that_runs_history_after_it_is_deleted(tmp_path):
    import shutil

    from tqse.train.lineage import record_parent

    first = _run(tmp_path / "a", None)  # from scratch: 600 steps took 5 minutes
    second = _run(tmp_path / "b", None)
    record_parent(second, str(_checkpoint_of(first, 600)))
    third = _run(tmp_path / "c", str(_checkpoint_of(second, 900)))
    record_parent(third, str(second / "checkpoints" / "step-900"))
    shutil.rmtree(tmp_path / "a")
    shutil.rmtree(tmp_path / "b")  # ignored run folders get cleaned; the records must already hold the history
    summary = package.training_summary(third, 300)
    # 600 (5.0 min) + 900 (7.5 min) + 300 (2.5 min)
    assert summary["continued_from"] == {"name": "run step 900", "steps": 1500, "train_minutes": 12.5}
    assert summary["steps"] == 1800 and summary["train_minutes"] == 15.0


def test_package_writes_a_float16_model_folder_with_scores_card_and_credits(tmp_path, monkeypatch, fixture_manifest):
    from tqse.cli import main
    from tqse.config import load_config
    from tqse.data.fixed_mixtures import write_fixed_mixtures
    from tqse.data.manifest import read_clips
    from tqse.models.model_dir import load_model_dir, read_weights
    from tqse.models.pretrained import read_card_scores
    from tqse.train.loop import train

    configs = Path(__file__).resolve().parents[2] / "configs"
    run = train(load_config([configs / "setups" / "fixture.yaml"], ["train.steps=2"]), tmp_path / "run")
    corpus = tmp_path / "data" / "default"  # a built `default` tier: its fixed mixtures and credits
    mixtures = write_fixed_mixtures(read_clips(fixture_manifest, split="test"), corpus / "mixtures", 3,
                                    segment_seconds=1.0)
    # The corpus' mixtures also name their interferer's class (the wrong-query control).
    rows = [json.loads(line) for line in mixtures.read_text().splitlines()]
    mixtures.write_text("".join(json.dumps(row | {"interferer_class": "bell"}) + "\n" for row in rows))
    (corpus / "clips.jsonl").write_text(Path(fixture_manifest).read_text())  # what the card counts
    (corpus / "state.json").write_text(json.dumps({"stages": {"done": True}}))
    (corpus / "credits.json").write_text(json.dumps([{"package": "sound-icons", "version": "0.1",
                                                      "licence": "GPL-2+"}]))
    pool = tmp_path / "data" / "pool"  # a built `pool` tier whose fixed mixtures include `unseen`
    (pool / "mixtures").mkdir(parents=True)
    (pool / "mixtures" / "unseen.jsonl").write_text(mixtures.read_text().replace('"test/', '"../../default/mixtures/test/'))
    (pool / "state.json").write_text(json.dumps({"stages": {"done": True}}))
    monkeypatch.setenv("TQSE_DATA", str(tmp_path / "data"))

    assert main(["package", str(run), str(tmp_path / "shipped"), "--name", "tqse-test",
                 "--sets", "test", "corpus:pool:unseen"]) == 0
    shipped = tmp_path / "shipped"
    model, config = load_model_dir(shipped)
    assert config["name"] == "tqse-test" and config["training"]["steps"] == 2
    assert set(config["scores"]["test"]) == {"class_caption", "caption", "interferer_class_caption", "snr_db"}
    card = (shipped / "README.md").read_text()
    assert "# tqse-test" in card and "## Scores" in card
    from tqse.models.card import render_card

    assert card == render_card(config)  # the card says exactly what config.json records
    data, selection = config["training"]["data"], config["training"]["selection"]
    assert data["clips"] > 0 and data["classes"] > 0 and data["queries"].startswith("queries: ")
    assert selection["chosen_on"] is None or selection["mixtures"] > 0
    assert config["speed"]["extract_call_s"] > 0 and "## Licence of the weights" in card
    assert set(read_card_scores(shipped)) == {f"{s}_{f}_si_sdri" for s in ("test", "unseen") for f in package.FIELDS}
    assert config["scores"]["unseen"]["caption"]["count"] == 3 and "**Unseen sources (wider set):**" in card
    assert "sound-icons 0.1" in (shipped / "TRAINING_DATA.md").read_text()
    if config["weights_dtype"] == "float16":
        assert all(t.dtype.itemsize == 2 for t in read_weights(shipped).values() if t.is_floating_point())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "run", "shipped"]  # no staging copy left


def test_card_only_re_renders_a_folder_from_its_records_and_the_run_config(tmp_path):
    """`tqse package RUN --card-only MODEL`: the card of a folder packaged before the records existed (the
    shipped v2, v0) gains data and selection records from the run's committed config; weights and scores stay."""
    import shutil

    from tqse.cli import main

    root = Path(__file__).resolve().parents[2]
    folder = tmp_path / "model"
    shutil.copytree(root / "src" / "tqse" / "assets" / "default_model", folder)
    config = json.loads((folder / "config.json").read_text())
    weights = (folder / "model.safetensors").read_bytes()
    del config["training"]["data"], config["training"]["selection"]
    (folder / "config.json").write_text(json.dumps(config))
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump({"data": {"manifests": {"mine": str(tmp_path / "m.jsonl")},
                                                              "use": ["mine"], "split": "train", "snr_db": [-5, 5]},
                                                     "query": {"mode": "audio"}, "eval": {}}))
    (tmp_path / "m.jsonl").write_text("".join(json.dumps({"path": f"{i}.wav", "class": c, "split": "train"}) + "\n"
                                              for i, c in enumerate(["dog", "rain", "dog"])))
    assert main(["package", str(run), str(folder), "--card-only", "--note", "chosen by hand"]) == 0
    after = json.loads((folder / "config.json").read_text())
    assert after["scores"] == config["scores"] and (folder / "model.safetensors").read_bytes() == weights
    data = after["training"]["data"]
    assert (data["clips"], data["classes"], data["class_names"]) == (3, 2, ["dog", "rain"])
    assert data["queries"] == "queries: audio embeddings of the target clip" and "tier" not in data
    assert after["training"]["selection"]["chosen_on"] is None
    card = (folder / "README.md").read_text()
    assert "No validation set chose it" in card and "chosen by hand" in card and "3 clips" in card


def test_the_data_record_counts_the_clips_a_run_kept_and_the_card_splits_labelled_from_unlabelled(tmp_path):
    """A run on a share of its unlabelled pool (`data.fraction`) trained on that share: the card counts the
    clips of the recording groups training kept (the same hash), not the whole manifest, and says how many of
    them are unlabelled (issue 22: the card states the pool size and the labelled share)."""
    from tqse.data.manifest import read_clips
    from tqse.models.card import data_line
    from tqse.train.setup import group_fraction
    from tqse.workflows.package import data_record

    labelled, unlabelled = tmp_path / "labelled.jsonl", tmp_path / "unlabelled.jsonl"
    labelled.write_text("".join(json.dumps({"path": f"l{i}.wav", "class": c, "split": "train"}) + "\n"
                                for i, c in enumerate(["dog", "rain", "dog"])))
    unlabelled.write_text("".join(json.dumps({"path": f"u{i}.wav", "class": None, "split": "train",
                                              "recording_group": f"group-{i // 2}"}) + "\n" for i in range(40)))
    kept = group_fraction(read_clips(unlabelled, dataset="unl", split="train"), 0.25)
    assert 0 < len(kept) < 40  # the fixture's groups straddle the share
    run = {"data": {"manifests": {"ac": str(labelled), "unl": str(unlabelled)}, "use": ["ac", "unl"],
                    "fraction": {"unl": 0.25}, "split": "train"}, "query": {"mode": "text", "modes": {"unl": "audio"}}}
    data = data_record(run)
    assert (data["clips"], data["unlabelled_clips"], data["classes"]) == (3 + len(kept), len(kept), 2)
    assert data["subset"]["fraction"] == {"unl": 0.25}
    line = data_line({"training": {"data": data}})
    assert f"{3 + len(kept):,} clips (3 labelled, {len(kept):,} unlabelled)" in line
    whole = data_record(run | {"data": run["data"] | {"fraction": {}}})
    assert (whole["clips"], whole["unlabelled_clips"]) == (43, 40)


def test_the_selection_record_names_a_tier_set_and_reads_its_snr_range_from_the_mixtures_scored(tmp_path, monkeypatch):
    """A run validated on a tier's set (``corpus:pool:val``) is recorded as chosen on ``val`` (was the whole
    spec as its name), with the count and SNR range of the first ``eval.max_mixtures`` mixtures, the ones
    training scored; a path is named by its file; an unreadable manifest still gives a record."""
    pool = tmp_path / "data" / "pool"
    (pool / "mixtures").mkdir(parents=True)
    (pool / "state.json").write_text(json.dumps({"stages": {"done": True}}))
    rows = [{"mixture": f"{i}.flac", "snr_db": snr} for i, snr in enumerate([-4.0, 3.5, 5.0, -5.0])]
    (pool / "mixtures" / "val.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setenv("TQSE_DATA", str(tmp_path / "data"))

    record = package.selection_record({"eval": {"manifest": "corpus:pool:val", "max_mixtures": 3,
                                                "select_by": "mean"}}, "best", "best", "")
    assert (record["set"], record["mixtures"], record["snr_db"], record["rule"]) == ("val", 3, [-4.0, 5.0], "mean")
    by_path = package.selection_record({"eval": {"manifest": str(pool / "mixtures" / "val.jsonl")}}, "best", "best", "")
    assert (by_path["set"], by_path["mixtures"], by_path["snr_db"]) == ("val", 4, [-5.0, 5.0])
    missing = package.selection_record({"eval": {"manifest": "corpus:nope:val", "max_mixtures": 50}}, "best", "b", "")
    assert (missing["set"], missing["mixtures"], missing["snr_db"]) == ("val", 50, None)
    assert package.selection_record({"eval": {}}, "last", "last", "")["chosen_on"] is None


def test_card_only_with_sets_adds_a_score_the_folder_lacks_marked_as_scored_later(tmp_path, monkeypatch,
                                                                                  fixture_manifest):
    """`tqse package RUN MODEL --card-only --sets corpus:pool:unseen`: a shipped folder gains the unseen-source
    score its card lacked, scored on its weights as they are; the card says it was scored later (no part in
    choosing or packaging the checkpoint); weights and the scores it had stay; a second run scores nothing."""
    import shutil

    from tqse.cli import main
    from tqse.data.fixed_mixtures import write_fixed_mixtures
    from tqse.data.manifest import read_clips
    from tqse.models.card import render_card, unseen_set

    root = Path(__file__).resolve().parents[2]
    run = root / "experiments" / "default_model" / "tqse-conformer-builtin-v2"  # a shipped folder and its run
    folder = tmp_path / "model"
    shutil.copytree(run / "model", folder)
    before = json.loads((folder / "config.json").read_text())
    weights = (folder / "model.safetensors").read_bytes()
    before["scores"].pop("unseen", None)
    before["training"]["selection"].pop("scored_later", None)
    (folder / "config.json").write_text(json.dumps(before))
    pool = tmp_path / "data" / "pool"  # a built `pool` tier with fixed `unseen` mixtures
    mixtures = write_fixed_mixtures(read_clips(fixture_manifest, split="test"), pool / "mixtures", 3,
                                    segment_seconds=1.0, name="unseen")
    rows = [json.loads(line) for line in mixtures.read_text().splitlines()]
    mixtures.write_text("".join(json.dumps(row | {"interferer_class": "bell"}) + "\n" for row in rows))
    (pool / "state.json").write_text(json.dumps({"stages": {"done": True}}))
    monkeypatch.setenv("TQSE_DATA", str(tmp_path / "data"))

    assert main(["package", str(run), str(folder), "--card-only", "--sets", "corpus:pool:unseen", "test"]) == 0
    after = json.loads((folder / "config.json").read_text())
    assert (folder / "model.safetensors").read_bytes() == weights
    assert {k: v for k, v in after["scores"].items() if k != "unseen"} == before["scores"]  # `test` not re-scored
    unseen = after["scores"]["unseen"]
    assert set(unseen) == {"class_caption", "caption", "interferer_class_caption", "snr_db"}
    assert unseen["caption"]["count"] == 3 and unseen_set(after) == "unseen"
    assert after["training"]["selection"]["scored_later"] == ["unseen"]
    card = (folder / "README.md").read_text()
    assert card == render_card(after) and "unseen_caption_si_sdri" in card
    assert "`test` and `ood` were scored after that choice" in card
    assert "`unseen` was scored later, on the packaged folder as it is" in card and "**Unseen sources (wider set):**" in card
    assert main(["package", str(run), str(folder), "--card-only", "--sets", "corpus:pool:unseen"]) == 0
    assert json.loads((folder / "config.json").read_text()) == after
