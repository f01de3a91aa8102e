#!/usr/bin/env bash
# Build the wheel, install it into a fresh venv and run `tqse extract` from it: proves the package data (the
# built-in encoder, the fixture, a shipped default model when there is one) is inside the wheel. Offline and
# bounded: the wheel is built without build isolation, installed with --no-deps --no-index, and the fresh venv
# sees the dependencies already installed in the project venv (torch is never downloaded again) through a plain
# path entry, which does not run that venv's .pth hooks, so the project's editable tqse stays invisible.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Build from a copy of what the package needs, so no build/ or egg-info folder is left in the checkout.
mkdir "$work/src_copy"
cp -r src pyproject.toml README.md "$work/src_copy/"
find "$work/src_copy" -name __pycache__ -prune -exec rm -rf {} +
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$work/dist" "$work/src_copy" >/dev/null
wheel=$(ls "$work"/dist/tqse-*.whl)
for member in tqse/assets/builtin_encoder/config.json tqse/assets/fixture/clips.jsonl; do
    "$PY" -c "import sys, zipfile; sys.exit(0 if sys.argv[2] in zipfile.ZipFile(sys.argv[1]).namelist() else 1)" \
        "$wheel" "$member" || { echo "wheel lacks $member" >&2; exit 1; }
done
"$PY" -c "import sys, zipfile; bad = [n for n in zipfile.ZipFile(sys.argv[1]).namelist() if n.startswith(('tqse/testing', 'tests/'))]; \
sys.exit(f'wheel ships test code: {bad}' if bad else 0)" "$wheel"
base=$("$PY" -c "import sys; print(sys.base_prefix)")
"$base/bin/python3" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --no-deps --no-index "$wheel"
deps=$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
target=$("$work/venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo "$deps" > "$target/_project_dependencies.pth"
cd "$work"
export TQSE_HOME="$work/home" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1
venv/bin/python -c "import tqse, sys; assert tqse.__file__.startswith(sys.prefix), tqse.__file__"
venv/bin/tqse --version
venv/bin/python -c "from tqse.workflows.bench import random_model_dir; random_model_dir('$work/home/models/tiny')"
mix=$(venv/bin/python -c "from tqse.data.locations import fixture_dir; print(fixture_dir() / 'loop_amen.flac')")
venv/bin/tqse models
venv/bin/tqse extract "$mix" -q "a drum loop" -n tiny -o "$work/out.wav" --no-progress
venv/bin/python -c "import soundfile as sf; a, b = sf.info('$work/out.wav'), sf.info('$mix'); \
assert (a.frames, a.samplerate) == (b.frames, b.samplerate), (a, b); print('wheel OK:', a.frames, 'frames')"
