from pathlib import Path

import pytest

from tqse.config import config_hash, load_config
from tqse.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_defaults_are_the_papers_hyper_parameters():
    config = load_config()
    t = config.train
    assert (t.lr, t.weight_decay, t.warmup_steps, t.constant_steps, t.decay_every, t.decay_factor, t.grad_clip,
            t.batch_size) == (2e-4, 1e-2, 4000, 160000, 10000, 0.9, 5.0, 32)
    assert (config.data.sample_rate, config.data.segment_seconds, config.data.snr_db) == (32000, 10.0, [-5.0, 5.0])
    d = config.query.manipulation
    assert (d.dropout.p_audio, d.dropout.p_text, d.noise.alpha_audio, d.noise.alpha_text) == \
        ([0.75, 0.95], [0.25, 0.75], [1.5, 3.5], [1.0, 2.0])
    assert (d.pca.dim, d.pca.fit_on, d.specaugment.time_width, d.specaugment.freq_width) == (16, 1000, 64, 2)


def test_unknown_keys_and_bad_types_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="bogus"):
        load_config([], ["query.manipulation.bogus=1"])
    with pytest.raises(ConfigError):
        load_config([], ["train.steps=many"])
    (tmp_path / "x.yaml").write_text("train: {stepz: 3}\n")
    with pytest.raises(ConfigError, match="stepz"):
        load_config([tmp_path / "x.yaml"])
    with pytest.raises(ConfigError, match="query mode"):
        load_config([], ["query.mode=video"])


def test_yaml_diffs_include_their_base_and_overrides_win(tmp_path):
    (tmp_path / "base.yaml").write_text("train: {steps: 10, batch_size: 4}\n")
    (tmp_path / "row.yaml").write_text("include: base.yaml\ntrain: {steps: 20}\n")
    config = load_config([tmp_path / "row.yaml"], ["train.batch_size=8"])
    assert (config.train.steps, config.train.batch_size) == (20, 8)
    (tmp_path / "loop.yaml").write_text("include: loop.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config([tmp_path / "loop.yaml"])


def test_every_table_row_is_a_short_diff_that_resolves():
    rows = sorted((CONFIGS / "table1").glob("*.yaml"))
    names = {p.stem for p in rows}
    expected = {f"A{i}" for i in range(12)} | {f"V{i}" for i in range(9)} | {f"AV{i}" for i in range(6)}
    assert names == expected
    hashes = set()
    for row in rows:
        assert len(row.read_text().splitlines()) <= 6
        config = load_config([CONFIGS / "setups" / "fixture.yaml", row])
        hashes.add(config_hash(config))
    assert len(hashes) == len(rows)  # no two rows are the same experiment


def test_a9_is_audio_queries_with_dropout():
    config = load_config([CONFIGS / "setups" / "fixture.yaml", CONFIGS / "table1" / "A9.yaml"])
    assert config.query.mode == "audio" and config.query.manipulation.dropout.enabled
    assert config.data.use == ["ac"] and not config.query.manipulation.noise.enabled


def test_an_option_added_at_its_default_keeps_the_hash_and_so_the_run_folder():
    from dataclasses import dataclass, field

    import tqse.config as config_module

    config = load_config([], ["train.steps=7", "query.mode=audio"])
    before = config_hash(config)

    @dataclass
    class NewerTrainConfig(config_module.TrainConfig):
        option_added_later: bool = False

    @dataclass
    class NewerRunConfig(config_module.RunConfig):
        train: NewerTrainConfig = field(default_factory=NewerTrainConfig)

    original = config_module.RunConfig
    config_module.RunConfig = NewerRunConfig
    try:
        newer = NewerRunConfig(**{k: getattr(config, k) for k in ("name", "data", "query", "model", "eval")},
                               train=NewerTrainConfig(**vars(config.train)))
        assert config_hash(newer) == before
        newer.train.option_added_later = True
        assert config_hash(newer) != before
    finally:
        config_module.RunConfig = original


def test_every_recipe_study_candidate_builds_a_separator_that_reconstructs_its_length():
    import torch

    from tqse.models import build_model

    candidates = sorted((CONFIGS / "efficient").glob("*.yaml"))
    assert {p.stem for p in candidates} >= {"base", "tcn", "tcn_q", "tcn_hop32", "conformer_small"}
    frames = {}
    for path in candidates:
        config = load_config([path])
        model = build_model(config.model.name, **{"sample_rate": config.data.sample_rate, **config.model.kwargs})
        mixture = torch.randn(1, 16000)
        _, features = model.spectral.analyse(mixture)
        frames[path.stem] = features.shape[1]
        with torch.no_grad():
            assert model(mixture, torch.randn(1, 512)).shape == mixture.shape
    # The 32 ms hop runs every block on half the frames of the 16 ms one.
    assert frames["tcn_hop32"] * 2 == pytest.approx(frames["tcn"], abs=2)


def test_select_by_mean_prefers_a_model_good_with_both_query_kinds_and_ignores_the_wrong_query():
    from tqse.config import EvalConfig
    from tqse.train.loop import selection_score

    template_only = {"class_caption": {"si_sdri": 4.2}, "caption": {"si_sdri": 1.1},
                     "interferer_class_caption": {"si_sdri": -9.0}}
    balanced = {"class_caption": {"si_sdri": 3.9}, "caption": {"si_sdri": 1.7},
                "interferer_class_caption": {"si_sdri": 3.0}}
    fields = dict(query_field="class_caption", also_query_fields=["caption", "interferer_class_caption"])
    first, mean = EvalConfig(**fields), EvalConfig(**fields, select_by="mean")
    assert selection_score(first, template_only) > selection_score(first, balanced)
    assert selection_score(mean, balanced) > selection_score(mean, template_only)
    assert selection_score(mean, balanced) == pytest.approx((3.9 + 1.7) / 2)


def test_an_unknown_select_by_is_refused_and_keeping_checkpoints_leaves_the_run_folder_unchanged():
    with pytest.raises(ConfigError, match="eval.select_by"):
        load_config([], ["eval.select_by=max"])
    assert config_hash(load_config([], ["train.keep_val_checkpoints=true"])) == config_hash(load_config([], []))
