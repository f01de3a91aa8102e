"""One example command line per sub-command, shown at the end of its ``--help``.

Kept in one table (not in each command module) so every command has one, and a test checks that none is
missing: a new command without an example fails ``tests/cli/test_cli_help.py``.
"""

EXAMPLES = {
    "extract": 'tqse extract mix.wav song.flac -q "a dog barking" -q "rain on a roof" --residual -o out/',
    "models": "tqse models",
    "train": "tqse train configs/setups/fixture.yaml train.steps=200",
    "eval": "tqse eval --checkpoint runs/demo/run/checkpoints/last --manifest mixtures/test.jsonl",
    "prepare": "tqse prepare folder ~/sounds --label-from-parent --out data/sounds.jsonl",
    "prepare audiocaps": "tqse prepare audiocaps --csv audiocaps/train.csv --audio audiocaps/wav --out data/ac.jsonl",
    "prepare clotho": "tqse prepare clotho --csv clotho_captions_development.csv --audio clotho/development "
                      "--out data/clotho.jsonl",
    "prepare vggsound": "tqse prepare vggsound --csv vggsound.csv --audio vggsound/wav --out data/vgg.jsonl",
    "prepare folder": "tqse prepare folder ~/sounds --label-from-parent --out data/sounds.jsonl",
    "prepare audiosep-json": "tqse prepare audiosep-json datafiles/audiocaps.json --out data/ac.jsonl",
    "shards": "tqse shards write data/ac.jsonl --out shards/ac",
    "shards write": "tqse shards write data/ac.jsonl --out shards/ac --clips-per-shard 1000",
    "shards info": "tqse shards info shards/ac/shards.json --world-size 4",
    "report": "tqse report runs/table1/* --metric si_sdri --out table.md --plot bars.png --curves curves.png",
    "convert": "tqse convert audiosep audiosep_base.ckpt models/audiosep",
    "convert audiosep": "tqse convert audiosep audiosep_base.ckpt models/audiosep",
    "package": "tqse package runs/conformer_small_s2-1a2b3c4d models/mine --name tqse-conformer-mine",
    "corpus": "tqse corpus build --tier tiny",
    "corpus build": "tqse corpus build --tier default",
    "corpus credits": "tqse corpus credits --tier default",
    "corpus audit": "tqse corpus audit --tier tiny --per-class 2",
    "embed": "tqse embed --data data/ac.jsonl --out embeddings/ac",
    "gap": "tqse gap --data data/ac.jsonl --max-clips 200 --json",
    "encoder": "tqse encoder info",
    "encoder train": "tqse encoder train --data data/ac.jsonl --out encoders/mine --steps 2000",
    "encoder info": "tqse encoder info --encoder builtin",
    "bench": "tqse bench extract --model tiny --seconds 60",
    "bench extract": "tqse bench extract --model small --seconds 60 --json",
    "bench train": "tqse bench train --model tiny --steps 20",
    "bench data": "tqse bench data --seconds 30",
    "demo": "tqse demo --out demo_out   (or: tqse demo --train --steps 300 --tier tiny)",
    "serve": "tqse serve --port 8080 -n default",
    "grid": "tqse grid configs/setups/fixture.yaml configs/table1/A0.yaml --eval test=mixtures/test.jsonl",
}
