"""Training draws what it drew before: pinned batches, queries and losses of three tiny runs.

The numbers were computed at commit 5cd9b3f, before the typed :class:`~tqse.data.dataset.Batch` and the shared
:class:`~tqse.data.dataset.ExampleBuilder` (issue 13), on the CC0 fixture with the hash encoder and the tiny
preset: map-style mixing with class-template captions, random low-pass, dropout, noise and the mixup partner;
audio queries read from an embedding cache (cache keys); stream mixing from tar shards. A change that moves any
random draw, reorders the examples or changes a key fails here. Sums are float64 sums of absolute values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from tqse.config import load_config
from tqse.data.manifest import read_clips
from tqse.query.cache import build_cache
from tqse.query.hash_encoder import HashEncoder
from tqse.query.provider import QueryProvider
from tqse.query.registry import encoder_from_config
from tqse.data.locations import fixture_manifest
from tqse.train import setup
from tqse.files import read_metrics
from tqse.train.loop import _open_cache, step_seed, train

FIXTURE_SETUP = Path(__file__).resolve().parents[2] / "configs" / "setups" / "fixture.yaml"
COMMON = ["train.batch_size=2", "data.segment_seconds=0.5", "train.warmup_steps=2", "train.lr=1e-3",
          "train.log_every=1", "train.checkpoint_every=100"]


@dataclass
class Observed:
    """What one training step reads: its batch and the queries made from it."""

    mixture: float
    target: float
    partner: float | None
    query: float
    captions: list[str]
    datasets: list[str]
    snr_db: list[float]
    cache_keys: list[str] | None


@dataclass
class Pinned:
    overrides: list[str]
    batches: list[Observed]
    losses: list[float]


MIXUP = ["data.use=[ac,vgg]", "query.mode=text+audio", "query.manipulation.dropout.enabled=true",
         "query.manipulation.noise.enabled=true", "query.manipulation.mixup.enabled=true", "data.random_lowpass=0.5",
         "train.steps=3"]
PINNED = {
    "mixup": Pinned(MIXUP, [
        Observed(2634.0227118245175, 1361.0267434420848, 2819.5037231445312, 19.68269031168893,
                 ["this is the sound of tabla", "this is the sound of drums"], ["vgg", "vgg"],
                 [4.127555772777217, -4.413848398506456], None),
        Observed(5997.548300343704, 3701.3981077538856, 4447.62998342246, 14.025607195449993,
                 ["this is the sound of bass", "this is the sound of drums"], ["vgg", "vgg"],
                 [-1.7306129912639037, 1.8848997695357061], None),
        Observed(1335.7407934735006, 991.4620622325635, 2603.5829467773438, 17.39065287192352,
                 ["a deep bass note is plucked", "this is the sound of bell"], ["ac", "vgg"],
                 [-2.804161505415219, 1.12066752686329], None),
    ], [1.650450587272644, 0.7933789491653442, 0.35156822204589844]),
    "cache": Pinned(["data.use=[ac]", "query.mode=audio", "query.manipulation.dropout.enabled=true", "train.steps=2"], [
        Observed(4956.785246971649, 2480.1190680321306, None, 1.3141790805384517,
                 ["a rubbed glass hums a steady tone", "a piano plays a few gentle notes"], ["ac", "ac"],
                 [-4.590264760638053, 3.009080868919721],
                 ["d14e94a521a0613d93cb6ffdc3685146-0.5s", "ad7cb847705c95b71d409f1e7ca70938-0.5s"]),
        Observed(4403.82490609759, 3140.922231450466, None, 1.0731282662600279,
                 ["this is the sound of bass", "this is the sound of piano"], ["ac", "ac"],
                 [1.0128920623776594, -1.7862517766248667],
                 ["975ac586786664d252008d89de6a5936-0.5s", "ad7cb847705c95b71d409f1e7ca70938-0.5s"]),
    ], [3.0493624210357666, 1.6386964321136475]),
    # Re-pinned when stream mixing stopped drawing a clip as its own interferer (issue 10): the pool now
    # skips the target's clip, which changes which crop each step mixes in.
    "shards": Pinned(["data.use=[sh]", "train.steps=2", "query.mode=text+audio"], [
        Observed(5231.630920984586, 4297.277832787027, None, 9.17275622067973,
                 ["guitar power chords ring out", "a fast breakbeat played on a drum kit"], ["default", "default"],
                 [-2.302132862361297, 3.1327023920027237], None),
        Observed(10932.942528243177, 9178.590137928863, None, 9.120195414870977,
                 ["this is the sound of glass", "this is the sound of bass"], ["default", "default"],
                 [1.066357757671799, 4.350724237877682], None),
    ], [-1.4866719245910645, -1.1439616680145264]),
}


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> list[str]:
    """Overrides naming an embedding cache of the fixture (0.5 s crops) and a tar-shard copy of it."""
    from tqse.data.shards import write_shards

    root = tmp_path_factory.mktemp("pinned")
    clips = read_clips(fixture_manifest())
    build_cache(HashEncoder(dim=32), clips, root / "cache", 32000, 0.5)
    write_shards(clips, root / "shards", clips_per_shard=4)
    return [f"query.cache_dir={root / 'cache'}", f"data.manifests.sh={next((root / 'shards').glob('*.json'))}"]


def config_for(name: str, sources: list[str]):
    extra = {"cache": sources[:1], "shards": sources[1:]}.get(name, [])
    return load_config([FIXTURE_SETUP], [*COMMON, *PINNED[name].overrides, *extra])


def observe(config) -> list[Observed]:
    """The batches and queries of the first steps, drawn as :func:`tqse.train.loop.train` draws them."""
    clips = setup.training_clips(config)
    encoder = encoder_from_config(setup.encoder_spec(config))
    provider = QueryProvider(encoder, config.query, config.data.sample_rate, cache=_open_cache(config, encoder))
    observed = []
    for step, batch in zip(range(config.train.steps), setup.build_loader(config, clips, 0, 1, 0)):
        generator = torch.Generator().manual_seed(step_seed(config.train.seed, step, 0))
        torch.manual_seed(step_seed(config.train.seed, step, 0))
        query = provider(batch, generator)
        observed.append(Observed(abs_sum(batch.mixture), abs_sum(batch.target), abs_sum(batch.partner),
                                 abs_sum(query), batch.captions, batch.datasets, batch.snr_db, batch.cache_keys))
    return observed


def abs_sum(tensor: torch.Tensor | None) -> float | None:
    return None if tensor is None else float(tensor.double().abs().sum())


def assert_same(observed: Observed, pinned: Observed, where: str) -> None:
    for field in ("captions", "datasets", "cache_keys"):
        assert getattr(observed, field) == getattr(pinned, field), f"{where}: {field}"
    for field in ("mixture", "target", "partner", "query", "snr_db"):
        expected = getattr(pinned, field)
        if expected is None:  # pytest.approx refuses None
            assert getattr(observed, field) is None, f"{where}: {field}"
        else:
            assert getattr(observed, field) == pytest.approx(expected, rel=1e-6), f"{where}: {field}"


@pytest.mark.parametrize("name", list(PINNED))
def test_training_batches_and_queries_are_the_pinned_ones(name, sources):
    observed = observe(config_for(name, sources))
    assert len(observed) == len(PINNED[name].batches)
    for step, (got, pinned) in enumerate(zip(observed, PINNED[name].batches)):
        assert_same(got, pinned, f"{name} step {step}")


@pytest.mark.parametrize("name", list(PINNED))
def test_training_losses_are_the_pinned_ones(name, sources, tmp_path):
    run = train(config_for(name, sources), tmp_path / name)
    losses = [m["loss"] for m in read_metrics(run / "metrics.jsonl")]
    assert losses == pytest.approx(PINNED[name].losses, rel=1e-5)
