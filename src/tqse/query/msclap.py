"""MS-CLAP 2023 (``CLAP_weights_2023.pth``: HTSAT + GPT-2, 1024-d, 44.1 kHz, 7 s), offline.

Uses ``msclap``'s model classes (optional extra ``msclap``: ``pip install --no-deps msclap==1.3.4
torchlibrosa==0.1.0`` plus ``librosa``, which torchlibrosa imports) but none of its loading code:

* ``msclap/__init__`` imports torchaudio (unusable with current torch), so only ``msclap.models`` is
  imported, through a bare package entry;
* its ``TextEncoder`` calls ``AutoModel.from_pretrained('gpt2')`` (hub); here it gets an architecture-only
  GPT-2 whose weights then come from the ``.pth`` (the file holds them);
* it loads with ``strict=False``; here missing or unexpected keys are an error;
* its tokenisation uses ``encode_plus`` (removed in transformers 5) and a random crop for long clips;
  here tokenisation is ours (pad token ``!`` = id 0, ``" <|endoftext|>"`` appended, 77 tokens, right
  padding, exactly as msclap) and long clips are centre-cropped.

Dimensions: B batch, T = 308700 samples at 44.1 kHz, N mel frames, M = 64 mel bins, D = 1024.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import sys
import types
from pathlib import Path

import torch

from tqse.errors import CheckpointError
from tqse.query.base import FrozenModule, as_batch, fit_length, l2_normalise
from tqse.files import file_sha256
from tqse.query.hf import check_keys, check_tokenizer, require_file, set_hub_offline, state_dict_of, torch_load

# GPT-2 attention-mask buffers that older transformers saved and current ones rebuild.
IGNORED = re.compile(r"attn\.(masked_)?bias$")
TEXT_LEN = 77


def import_msclap_clap():
    """``msclap.models.clap.CLAP`` without running ``msclap/__init__`` (which needs torchaudio)."""
    if "msclap.models.clap" not in sys.modules:
        spec = importlib.util.find_spec("msclap")
        if spec is None:
            raise CheckpointError("the MS-CLAP encoder needs the optional package msclap: "
                                  "pip install --no-deps msclap==1.3.4 torchlibrosa==0.1.0 librosa")
        if "msclap" not in sys.modules:
            pkg = types.ModuleType("msclap")
            pkg.__path__ = list(spec.submodule_search_locations)
            pkg.__spec__ = spec
            sys.modules["msclap"] = pkg
    try:
        from msclap.models.clap import CLAP
    except ImportError as err:
        raise CheckpointError(f"the MS-CLAP encoder could not import msclap's models ({err}); install "
                              "torchlibrosa==0.1.0 and librosa") from None
    return CLAP


@contextlib.contextmanager
def _architecture_only_gpt2(config):
    """Make ``AutoModel.from_pretrained('gpt2')`` build a random GPT-2 instead of downloading one."""
    import transformers

    original = transformers.AutoModel.__dict__["from_pretrained"]
    transformers.AutoModel.from_pretrained = classmethod(lambda cls, *a, **k: transformers.GPT2Model(config))
    try:
        yield
    finally:
        transformers.AutoModel.from_pretrained = original


def gpt2_config_from_state_dict(sd: dict[str, torch.Tensor]):
    from transformers import GPT2Config

    prefix = "caption_encoder.base."
    if prefix + "wte.weight" not in sd:
        raise CheckpointError("checkpoint has no caption_encoder.base.wte.weight: not an MS-CLAP 2023 (GPT-2) model")
    layers = 1 + max(int(m.group(1)) for k in sd if (m := re.match(rf"{re.escape(prefix)}h\.(\d+)\.", k)))
    vocab, width = sd[prefix + "wte.weight"].shape
    return GPT2Config(vocab_size=vocab, n_positions=sd[prefix + "wpe.weight"].shape[0], n_embd=width,
                      n_layer=layers, n_head=max(1, width // 64))


def build_msclap(sd: dict[str, torch.Tensor] | None = None, gpt2_config=None):
    """The 2023 architecture (hyper-parameters from msclap's ``config_2023.yml``)."""
    CLAP = import_msclap_clap()
    config = gpt2_config if gpt2_config is not None else gpt2_config_from_state_dict(sd)
    with _architecture_only_gpt2(config):
        return CLAP(audioenc_name="HTSAT", sample_rate=44100, window_size=1024, hop_size=320, mel_bins=64,
                    fmin=50, fmax=8000, classes_num=527, out_emb=768, text_model="gpt2",
                    transformer_embed_dim=config.n_embd, d_proj=1024)


class MsClapEncoder(FrozenModule):
    """MS-CLAP 2023 query encoder.

    Args:
        path: ``CLAP_weights_2023.pth`` (``{'model': state_dict}``).
        tokenizer: GPT-2 tokenizer folder (``vocab.json`` + ``merges.txt``).
        trust_checkpoint: allow the pickle loader if ``weights_only=True`` cannot read the file.
    """

    def __init__(self, path: str | Path, tokenizer: str | Path | None = None, trust_checkpoint: bool = False):
        super().__init__()
        set_hub_offline()
        from transformers import GPT2Tokenizer

        path = require_file(path, "MS-CLAP checkpoint")
        if tokenizer is None:
            raise CheckpointError(f"{path}: MS-CLAP needs tokenizer=<GPT-2 tokenizer folder with vocab.json + "
                                  "merges.txt> (CLI: --tokenizer)")
        tok_dir = require_file(tokenizer, "GPT-2 tokenizer folder")
        sd = state_dict_of(torch_load(path, trust_checkpoint), str(path), ("model", "state_dict"))
        self.net = build_msclap(sd)
        result = self.net.load_state_dict(sd, strict=False)
        check_keys(result.missing_keys, result.unexpected_keys, str(path), IGNORED)
        htsat = self.net.audio_encoder.base.htsat
        # The mel front end moves out of the tower, so features can be masked (SpecAugment) in between.
        self.spectrogram, self.logmel = htsat.spectrogram_extractor, htsat.logmel_extractor
        htsat.spectrogram_extractor, htsat.logmel_extractor = torch.nn.Identity(), torch.nn.Identity()
        self.tokenizer = GPT2Tokenizer.from_pretrained(str(tok_dir), local_files_only=True)
        self.tokenizer.add_special_tokens({"pad_token": "!"})  # msclap pools at (#ids != 0) - 1: pad must be id 0
        check_tokenizer(self.tokenizer, self.net.caption_encoder.base.config.vocab_size, str(tok_dir))
        if self.tokenizer.pad_token_id != 0:
            raise CheckpointError(f"{tok_dir}: '!' is not token 0; not a GPT-2 tokenizer")
        self.name = f"msclap:{file_sha256(path)[:16]}"
        self.dim = 1024
        self.sample_rate = 44100
        self.clip_samples = 7 * 44100
        self.freeze()
        self.train(False)

    @property
    def device(self) -> torch.device:
        return self.net.logit_scale.device

    @torch.no_grad()
    def embed_text(self, texts: list[str]) -> torch.Tensor:
        batch = self.tokenizer([t + " <|endoftext|>" for t in texts], max_length=TEXT_LEN, padding="max_length",
                               truncation=True, return_tensors="pt")
        batch = {k: batch[k].to(self.device) for k in ("input_ids", "attention_mask")}
        return l2_normalise(self.net.caption_encoder(batch))

    @torch.no_grad()
    def audio_features(self, wav, sample_rate: int) -> torch.Tensor:
        wav = fit_length(as_batch(wav, sample_rate, self.sample_rate).to(self.device), self.clip_samples)
        return self.logmel(self.spectrogram(wav))[:, 0]  # [B, N, M]

    @torch.no_grad()
    def embed_features(self, features: torch.Tensor) -> torch.Tensor:
        return l2_normalise(self.net.audio_encoder(features.to(self.device)[:, None])[0])

    def embed_audio(self, wav, sample_rate: int) -> torch.Tensor:
        return self.embed_features(self.audio_features(wav, sample_rate))
