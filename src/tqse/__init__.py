"""tqse: text-queried target sound extraction, trainable with audio-only data.

Implements Saijo et al., "Leveraging Audio-Only Data for Text-Queried Target Sound Extraction"
(ICASSP 2025): a separator conditioned on a CLAP-style embedding, trained on audio embeddings of the
target with embedding manipulations that close the modality gap, queried with text at inference.
"""

__version__ = "0.1.0"

__all__ = ["Extractor", "__version__"]


def __getattr__(name: str):
    # Lazy so that `import tqse` stays cheap (the CLI imports torch only for commands that need it).
    if name == "Extractor":
        from tqse.extract import Extractor

        return Extractor
    raise AttributeError(name)
