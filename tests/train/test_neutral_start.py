"""The query-free neutral start (``train.objective=louder``, issue 24): the target is the louder source, the query
never matters (every FiLM layer stays the identity), validation scores the louder source, and the run resumes."""

import json

import pytest
import torch
from safetensors.torch import load_file

from tqse.config import RunConfig, config_hash, load_config
from tqse.errors import ConfigError
from tqse.files import read_metrics
from tqse.models.film import FiLM
from tqse.train.loop import train
from tqse.train.objective import hold_film_at_identity, louder_source

from train_faults import FIXTURE_SETUP, tiny_config


def weights(run_dir) -> dict:
    return load_file(str(run_dir / "checkpoints" / "last" / "model.safetensors"))


def fixture_mixtures(folder, count: int = 4):
    from tqse.data.fixed_mixtures import write_fixed_mixtures
    from tqse.data.locations import fixture_manifest
    from tqse.data.manifest import read_clips

    return write_fixed_mixtures(read_clips(fixture_manifest(), split="test"), folder, count, segment_seconds=1.0,
                                sample_rate=16000)


def neutral_config(*overrides):
    return tiny_config("train.objective=louder", *overrides)


def film_weights(state: dict) -> dict:
    return {k: v for k, v in state.items() if ".film." in k}


def test_the_louder_source_is_the_one_with_more_energy():
    target = torch.stack([torch.full((100,), 0.5), torch.full((100,), 0.1)])
    interferer = torch.stack([torch.full((100,), -0.2), torch.full((100,), 0.3)])
    chosen = louder_source(target + interferer, target)
    torch.testing.assert_close(chosen, torch.stack([target[0], interferer[1]]))


def test_a_neutral_run_keeps_every_film_at_the_identity_so_no_query_changes_its_output(tmp_path):
    run = train(neutral_config("train.steps=4", "train.lr=3e-3"), tmp_path / "run")
    state = weights(run)
    assert film_weights(state) and all(torch.count_nonzero(v) == 0 for v in film_weights(state).values())
    assert json.loads((run / "checkpoints" / "last" / "config.json").read_text())["trained_with"]["objective"] == "louder"
    from tqse.models.model_dir import load_model_dir

    model, _ = load_model_dir(run / "checkpoints" / "last")
    mixture, queries = torch.randn(2, 8000) * 0.1, torch.randn(2, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(mixture, queries), model(mixture, torch.zeros(2, 32)))
    # ... while the rest of the separator did learn
    fresh = weights(train(neutral_config("train.steps=1", "train.lr=1e-9"), tmp_path / "fresh"))
    assert any(not torch.allclose(fresh[k], v) for k, v in state.items() if k not in film_weights(state))


def test_a_neutral_run_started_from_a_query_trained_model_drops_what_it_knew_of_queries(tmp_path):
    parent = train(tiny_config("train.steps=2"), tmp_path / "parent") / "checkpoints" / "last"
    assert any(torch.count_nonzero(v) for v in film_weights(load_file(str(parent / "model.safetensors"))).values())
    run = train(neutral_config("train.steps=1", f"train.init_from={parent}"), tmp_path / "run")
    assert all(torch.count_nonzero(v) == 0 for v in film_weights(weights(run)).values())


def test_a_resumed_neutral_run_equals_an_uninterrupted_one(tmp_path):
    straight = train(neutral_config("train.steps=6"), tmp_path / "straight")
    config = neutral_config("train.steps=6", "train.checkpoint_every=3")
    train(config, tmp_path / "resumed", stop_after=3)
    train(config, tmp_path / "resumed")
    a, b = weights(straight), weights(tmp_path / "resumed")
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=1e-5)


def test_neutral_validation_scores_the_louder_source(tmp_path):
    from tqse.data.manifest import read_mixtures
    from tqse.eval.protocols import manifest_items

    mixtures = fixture_mixtures(tmp_path / "mix")
    rows = read_mixtures(mixtures)
    items = manifest_items(mixtures, "class_caption", reference="louder")
    assert [i.source for i in items] == [r.target if r.snr_db >= 0 else r.interferer for r in rows]
    assert {r.snr_db >= 0 for r in rows} == {True, False}, "the fixture mixtures should have both cases"
    run = train(neutral_config("train.steps=2", "train.val_every=2", f"eval.manifest={mixtures}",
                               "eval.query_field=class_caption"), tmp_path / "run")
    assert [m["step"] for m in read_metrics(run / "metrics.jsonl") if "val_si_sdri" in m] == [2]
    assert (run / "checkpoints" / "best.json").exists()


def test_the_objective_is_checked_and_leaves_other_runs_hashes_alone():
    with pytest.raises(ConfigError, match="train.objective must be one of extract, louder"):
        load_config([FIXTURE_SETUP], ["train.objective=quieter"])
    assert config_hash(load_config([], ["train.objective=extract"])) == config_hash(RunConfig())
    with pytest.raises(ConfigError, match="has none"):
        hold_film_at_identity(torch.nn.Sequential(torch.nn.Linear(4, 4)))
    assert hold_film_at_identity(torch.nn.Sequential(FiLM(4, 3), FiLM(4, 2))) == 2
