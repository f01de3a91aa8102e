import torch

from tqse.config import QueryConfig
from tqse.data.dataset import Batch
from tqse.data.manifest import ClipRecord
from tqse.query.provider import QueryProvider


def make_batch(targets, datasets, captions=None):
    clips = [ClipRecord(f"clip{i}.flac", dataset=name) for i, name in enumerate(datasets)]
    return Batch(mixture=targets, target=targets, captions=captions or ["a dog barks"] * len(datasets),
                 datasets=list(datasets), clips=clips, snr_db=[0.0] * len(datasets))


def test_audio_query_of_each_example_depends_only_on_its_own_target(hash_encoder):
    """AudioSep's first-clip bug: its CLAP wrapper embedded clip 0 and broadcast it to the whole batch."""
    provider = QueryProvider(hash_encoder, QueryConfig(mode="audio"), 16000)
    targets = torch.randn(4, 16000, generator=torch.Generator().manual_seed(0))
    query = provider(make_batch(targets, ["d"] * 4), torch.Generator().manual_seed(0))
    changed = targets.clone()
    changed[1:] = torch.randn(3, 16000)
    query_changed = provider(make_batch(changed, ["d"] * 4), torch.Generator().manual_seed(0))
    torch.testing.assert_close(query[0], query_changed[0])
    assert not torch.allclose(query[0], query[1])
    alone = hash_encoder.embed_audio(targets[2:3], 16000)[0]
    torch.testing.assert_close(query[2], alone)


def test_per_dataset_modes_pick_text_or_audio(hash_encoder):
    config = QueryConfig(mode="text", modes={"vgg": "audio"})
    provider = QueryProvider(hash_encoder, config, 16000)
    targets = torch.randn(2, 16000)
    query = provider(make_batch(targets, ["ac", "vgg"], ["a dog barks", "ignored"]), torch.Generator())
    torch.testing.assert_close(query[0], hash_encoder.embed_text(["a dog barks"])[0])
    torch.testing.assert_close(query[1], hash_encoder.embed_audio(targets[1:], 16000)[0])


def test_text_plus_audio_mode_uses_both_modalities(hash_encoder):
    provider = QueryProvider(hash_encoder, QueryConfig(mode="text+audio"), 16000)
    is_audio = provider.modality(["x"] * 200, torch.Generator().manual_seed(0))
    assert 60 < int(is_audio.sum()) < 140


def test_encoder_stays_in_eval_mode_inside_a_training_loop(hash_encoder):
    container = torch.nn.ModuleDict({"encoder": hash_encoder})
    container.train()
    assert not hash_encoder.training
    assert not any(p.requires_grad for p in hash_encoder.parameters())


def test_manipulations_apply_in_training_queries(hash_encoder):
    config = QueryConfig(mode="audio")
    config.manipulation.dropout.enabled = True
    provider = QueryProvider(hash_encoder, config, 16000)
    query = provider(make_batch(torch.randn(8, 16000), ["d"] * 8), torch.Generator().manual_seed(0))
    assert 0.7 < (query == 0).float().mean() < 0.97
