#!/usr/bin/env bash
# Train on a lent GPU machine in one call (<= 8 minutes), from the bundle of scripts/gpu_pack.py.
#
#   bash benchmarks/gpu_train.sh [CONFIG.yaml ...] [dotted.key=value ...]   # one run (default: the shipped recipe)
#   MODE=grid bash benchmarks/gpu_train.sh [key=value ...]                  # Table I rows x seeds (issue 9)
#
# The default run is the shipped model's recipe, configs/efficient/conformer_small_s2.yaml, from scratch; add
# train.init_from=src/tqse/assets/default_model to continue the shipped model instead.
# Run from the repository root with data/gpu_pack carried. Installs the carried wheels only for modules that
# do not import, decodes the bundle into a local working corpus, trains with every query read from the
# embedding cache (no encoder weights needed), and copies each run directory (config, metrics.jsonl,
# checkpoints/last and best) plus summary.json and logs under $OUT.
#
# Environment (defaults): OUT (required), PACK=data/gpu_pack, DEVICE=cuda, MINUTES=5 (training time per run;
# validation and start-up come on top), BATCH=32, WORKERS=6 data workers per run (grid: cores / PARALLEL - 1), VAL_EVERY=1000,
# CHECKPOINT_EVERY=500, DEADLINE_S=450 (hard stop of all training, seconds after the start; the last
# checkpoint is kept), WORK (scratch folder, default a fresh temp folder), PYTHON (python3 or python).
# Grid: RECIPE=configs/efficient/tcn.yaml, ROWS="A0 A3 A9", SEEDS="0 1", PARALLEL=3 runs at once on the one
# GPU (each run gets MINUTES * PARALLEL / number of runs of training time).
set -euo pipefail

start=$(date +%s)
: "${OUT:?set OUT to the folder that comes back}"
PACK=${PACK:-data/gpu_pack}
DEVICE=${DEVICE:-cuda}
MINUTES=${MINUTES:-5}
BATCH=${BATCH:-32}
VAL_EVERY=${VAL_EVERY:-1000}
CHECKPOINT_EVERY=${CHECKPOINT_EVERY:-500}
DEADLINE_S=${DEADLINE_S:-450}
MODE=${MODE:-single}
RECIPE=${RECIPE:-configs/efficient/tcn.yaml}
ROWS=${ROWS:-"A0 A3 A9"}
SEEDS=${SEEDS:-"0 1"}
PARALLEL=${PARALLEL:-3}
if [[ $MODE == grid ]]; then WORKERS=${WORKERS:-$(( $(nproc) / PARALLEL - 1 ))}; else WORKERS=${WORKERS:-6}; fi
WORK=${WORK:-$(mktemp -d /tmp/tqse-gpu.XXXXXX)}
PYTHON=${PYTHON:-$(command -v python3 || command -v python)}
mkdir -p "$OUT/logs" "$WORK/site" "$WORK/runs" "$WORK/home"
[ -f "$PACK/pack.json" ] || { echo "gpu_train: no bundle at $PACK (run scripts/gpu_pack.py pack, carry it)" >&2; exit 2; }
PACK=$(cd "$PACK" && pwd)

# 1. Dependencies: install a carried wheel only where the import fails (pip picks the wheel of this Python).
export PYTHONPATH="$WORK/site:$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} TQSE_HOME="$WORK/home" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
for pair in _cffi_backend:cffi pycparser:pycparser soundfile:soundfile soxr:soxr \
            omegaconf:omegaconf; do
  module=${pair%%:*} package=${pair#*:}
  if ! "$PYTHON" -c "import $module" 2>/dev/null; then
    echo "gpu_train: installing $package from $PACK/wheels"
    "$PYTHON" -m pip install -q --no-index --no-deps --find-links "$PACK/wheels" --target "$WORK/site" "$package" \
      >>"$OUT/logs/pip.log" 2>&1 || { echo "gpu_train: could not install $package (see logs/pip.log)" >&2; exit 3; }
  fi
done
"$PYTHON" -c "import tqse, soundfile, soxr, omegaconf, torch; print('gpu_train: torch', torch.__version__, \
'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"

# 2. The working corpus: clips as 16-bit WAV, val mixtures rebuilt as target + interferer.
"$PYTHON" scripts/gpu_pack.py unpack --bundle "$PACK" --out "$WORK/corpus" --workers "${UNPACK_WORKERS:-$(nproc)}" >"$OUT/logs/unpack.log" 2>&1 \
  || { cat "$OUT/logs/unpack.log" >&2; exit 4; }
common=(data.manifests.ac="$WORK/corpus/clips.jsonl" data.manifests.vgg="$WORK/corpus/clips.jsonl"
        query.cache_dir="$PACK/embeddings" eval.manifest="$WORK/corpus/mixtures/val.jsonl"
        train.device="$DEVICE" train.batch_size="$BATCH" data.workers="$WORKERS" data.preload=true
        train.progress=false train.val_every="$VAL_EVERY" train.checkpoint_every="$CHECKPOINT_EVERY"
        output_dir="$WORK/runs")

configs=() overrides=()
for item in "$@"; do
  if [[ $item == *=* ]]; then overrides+=("$item"); else configs+=("$item"); fi
done

# One run: NAME MINUTES CONFIG... -- OVERRIDE...; stopped at the deadline at the latest (keeps its last checkpoint).
train_one() {
  local name=$1 minutes=$2; shift 2
  local left=$(( DEADLINE_S - ($(date +%s) - start) ))
  if (( left < 20 )); then echo "gpu_train: no time left for $name" >&2; return 1; fi
  echo "gpu_train: $name: ${minutes} min of training, hard stop in ${left} s"
  timeout --signal=KILL "$left" "$PYTHON" -m tqse.cli train "$@" --queries-from-cache --max-minutes "$minutes" \
    --run-dir "$WORK/runs/$name" >"$OUT/logs/$name.log" 2>&1 || echo "gpu_train: $name exited with $?" >&2
}

collect() {
  "$PYTHON" - "$WORK/runs" "$OUT" "$(( $(date +%s) - start ))" <<'EOF'
import json, shutil, sys
from pathlib import Path

runs, out, wall = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
summary = {"wall_seconds": wall, "runs": {}}
for run in sorted(p for p in runs.iterdir() if p.is_dir()):
    dest = out / "runs" / run.name
    for name in ("config.yaml", "env.json", "metrics.jsonl"):
        if (run / name).exists():
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(run / name, dest / name)
    for folder in ("last", "best"):
        if (run / "checkpoints" / folder).is_dir():
            shutil.copytree(run / "checkpoints" / folder, dest / "checkpoints" / folder, dirs_exist_ok=True)
    for name in ("best.json",):
        if (run / "checkpoints" / name).exists():
            shutil.copy2(run / "checkpoints" / name, dest / "checkpoints" / name)
    rows = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()] if (run / "metrics.jsonl").exists() else []
    train = [r for r in rows if "loss" in r]
    val = [r for r in rows if "val_si_sdri" in r]
    best = json.loads((run / "checkpoints" / "best.json").read_text()) if (run / "checkpoints" / "best.json").exists() else None
    summary["runs"][run.name] = {
        "steps": train[-1]["step"] if train else 0, "train_seconds": train[-1].get("train_seconds") if train else None,
        "steps_per_s": train[-1].get("steps_per_s") if train else None, "last_loss": train[-1]["loss"] if train else None,
        "last_val": val[-1] if val else None, "best": best}
(out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
print(json.dumps(summary, indent=1))
EOF
}
trap collect EXIT

if [[ $MODE == grid ]]; then
  read -r -a rows <<<"$ROWS"; read -r -a seeds <<<"$SEEDS"
  total=$(( ${#rows[@]} * ${#seeds[@]} ))
  share=$("$PYTHON" -c "print(round($MINUTES * min($PARALLEL, $total) / $total, 3))")
  running=0
  for row in "${rows[@]}"; do
    for seed in "${seeds[@]}"; do
      train_one "$row-s$seed" "$share" "$RECIPE" "configs/table1/$row.yaml" "${configs[@]}" "${common[@]}" \
        train.seed="$seed" name="$row-s$seed" "${overrides[@]}" &
      running=$((running + 1))
      if (( running >= PARALLEL )); then wait -n || true; running=$((running - 1)); fi
    done
  done
  wait || true
else
  (( ${#configs[@]} )) || configs=("${CONFIG:-configs/efficient/conformer_small_s2.yaml}")
  name=$(basename "${configs[-1]}" .yaml)
  train_one "$name" "$MINUTES" "${configs[@]}" "${common[@]}" "${overrides[@]}"
fi
