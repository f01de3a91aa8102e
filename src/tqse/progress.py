"""A progress bar for extraction: files done and seconds of audio, on stderr, only for people watching.

Off with ``--no-progress`` and whenever stderr is not a terminal (logs, pipes, CI); shown only once a run
has lasted a couple of seconds, so short extractions stay quiet.
"""

from __future__ import annotations

import sys

DELAY_SECONDS = 2.0  # a bar appears only once a run has lasted this long


class ExtractionProgress:
    """``progress(seconds)`` advances the bar; :meth:`start_file` names the file being processed."""

    def __init__(self, total_seconds: float, files: int, enabled: bool = True):
        from tqdm import tqdm

        self.files, self.done = files, 0
        self.bar = tqdm(total=round(total_seconds, 2), unit="s", unit_scale=False, file=sys.stderr, delay=DELAY_SECONDS,
                        disable=not (enabled and sys.stderr.isatty()), dynamic_ncols=True, leave=False,
                        bar_format="{desc} {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s audio [{elapsed}<{remaining}]")

    def start_file(self, name: str) -> None:
        self.bar.set_description_str(f"file {self.done + 1}/{self.files} {name[-40:]}")

    def end_file(self) -> None:
        self.done += 1

    def __call__(self, seconds: float) -> None:
        self.bar.update(seconds)

    def close(self) -> None:
        self.bar.close()
