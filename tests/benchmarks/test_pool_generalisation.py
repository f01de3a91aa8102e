"""benchmarks/pool_generalisation.py: how a run's pool size is read, the table and the scaling plot."""

from pathlib import Path

import yaml

from helpers import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "pool_generalisation.py"


def _run(tmp_path, name, data, seed=0):
    run = tmp_path / name
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump({"data": data, "train": {"seed": seed}}))
    return run


def test_pool_size_of_a_run_comes_from_its_resolved_config(tmp_path):
    bench = load_script(SCRIPT)
    assert bench.run_pool_size(_run(tmp_path, "a", {"use": ["ac", "vgg"]})) == (0.0, 0)
    assert bench.run_pool_size(_run(tmp_path, "b", {"use": ["ac", "unl"]}, seed=1)) == (1.0, 1)
    assert bench.run_pool_size(_run(tmp_path, "c", {"use": ["unl"], "fraction": {"unl": 0.25}})) == (0.25, 0)


def test_the_curve_plot_and_the_table_print(tmp_path, capsys):
    bench = load_script(SCRIPT)
    points = [{"share": s, "unlabelled_clips": int(s * 2000), "seed": seed, "unseen_class_caption": 1 + s + seed / 10,
               "unseen_caption": s, "test_class_caption": 5.0, "val_class_caption": 4.0, "val_caption": 2.0,
               "gap_class_caption": 3.0} for s in (0.0, 0.5, 1.0) for seed in (0, 1)]
    bench.plot_curve(points, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 5000
    scores = {s: {"class_caption": 1.0, "caption": 0.5, "interferer_class_caption": -9.0, "count": 10,
                  "snr_db": [-5.0, 5.0]} for s in bench.SETS}
    scores["gap"] = {"class_caption": 2.0, "caption": 1.0}
    bench.print_scores({"model": scores})
    out = capsys.readouterr().out
    assert "+1.00/+0.50/-9.00" in out and "2.00/1.00" in out and "unseen 10" in out


def test_a_run_is_scored_at_the_checkpoint_asked_for_and_a_model_folder_as_itself(tmp_path):
    bench = load_script(SCRIPT)
    run = _run(tmp_path, "run", {"use": ["ac"]})
    for name in ("best", "last"):
        (run / "checkpoints" / name).mkdir(parents=True)
    assert bench.model_folder(str(run)) == run / "checkpoints" / "best"
    assert bench.model_folder(str(run), "last") == run / "checkpoints" / "last"
    model = tmp_path / "model"
    model.mkdir()
    assert bench.model_folder(str(model), "last") == model
