"""Audio I/O, resampling and STFT: no learning, imports nothing else of tqse."""

from tqse.audio.io import AudioError, audio_info, load_audio, save_audio, validate_audio
from tqse.audio.resample import resample

__all__ = ["AudioError", "audio_info", "load_audio", "save_audio", "validate_audio", "resample"]
