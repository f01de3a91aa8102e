"""The figures README.md and docs/EFFICIENCY.md quote for the shipped model are the ones its card records
(config.json) and the demo's pins hold (issue 25): shipping a new default model fails here until the
documents say the same as its card."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers import load_script

from tqse.eval.report import group_seeds, seed_stats
from tqse.models.card import scored_sets, unseen_set
from tqse.models.model_dir import read_model_config
from tqse.workflows.study import compare

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "src" / "tqse" / "assets" / "default_model"
README = (ROOT / "README.md").read_text()
EFFICIENCY = (ROOT / "docs" / "EFFICIENCY.md").read_text()
DEMO = json.loads((ROOT / "tests" / "fixtures" / "demo_pinned.json").read_text())
FIELDS = ("class_caption", "caption", "interferer_class_caption")  # template / caption / wrong query
SIGNED = re.compile(r"[+-]\d+\.\d\d")
OPENING = " ".join(README.split("## Set-up", 1)[0].split())  # the README's opening, one space between words
GRID_RUNS = json.loads((ROOT / "experiments" / "table1_fair" / "runs.json").read_text())  # the committed report
SEEDS_OF = group_seeds({run["name"]: run for run in GRID_RUNS})  # row -> its seeds' records


@pytest.fixture(scope="module")
def card() -> dict:
    return read_model_config(SHIPPED)


def triple(card: dict, name: str, joiner: str = " / ") -> str:
    return joiner.join(f"{card['scores'][name][f]['si_sdri']:+.2f}" for f in FIELDS)


def row(starts: str) -> list[str]:
    """The cells of the README table row that starts with ``starts``."""
    found = [line for line in README.splitlines() if line.startswith(starts)]
    assert len(found) == 1, f"README.md: no single row starting {starts!r}"
    return [cell.strip() for cell in found[0].strip("|").split("|")]


def test_the_scores_row_names_the_shipped_model_and_quotes_exactly_its_card(card):
    what, figure, _ = row("| shipped default model (`")
    assert f"`{card['name']}`" in what
    expected = ", ".join(f"`{name}` {triple(card, name)} dB" for name in scored_sets(card))
    assert figure == expected
    assert sorted(SIGNED.findall(figure)) == sorted(f"{card['scores'][s][f]['si_sdri']:+.2f}"
                                                    for s in scored_sets(card) for f in FIELDS)


def test_the_speed_row_quotes_the_cards_speed(card):
    speed = card["speed"]
    _, figure, _ = row("| shipped default model, extract 10 s at 16 kHz")
    assert figure == (f"{speed['separator_s']:.3f} s separator (RTF {speed['rtf_separator']:g}), "
                      f"{speed['extract_call_s']:.3f} s whole `extract()` call")


def test_the_generalisation_row_is_the_committed_gap_of_the_shipped_model(card):
    """Both sides from one run of benchmarks/generalization_gap.py (the `default` tier's training clips and its
    206 `val` mixtures), whatever set chose the checkpoint."""
    gaps = json.loads((ROOT / "experiments" / "default_model" / "generalization_gap.json").read_text())
    gap = next(v for k, v in gaps.items() if k.split(" ")[0] == card["name"])  # "NAME (shipped)"
    _, figure, _ = row("| generalisation gap of the shipped model")
    train, val = gap["train clips"], gap["val clips"]
    assert figure == (f"{train['class_caption']:+.2f} / {train['caption']:+.2f} vs "
                      f"{val['class_caption']:+.2f} / {val['caption']:+.2f} dB")


def test_the_demo_figures_are_the_pinned_ones(card):
    scores = DEMO["scores"]
    assert DEMO["model"] == card["name"]
    better = sum(s["right"] > s["wrong"] for s in scores.values())
    median = sorted(s["right"] for s in scores.values())[len(scores) // 2]
    _, figure, _ = row("| `tqse demo`: the shipped model")
    assert figure.startswith(f"right query better on {better} of {len(scores)}; median SI-SDRi {median:+.2f} dB")
    setup = " ".join(README.split("## Set-up", 1)[1].split("```", 1)[0].split())
    assert f"the right query beats the wrong one on {better} of {len(scores)} mixtures, with a median of " \
           f"{median:+.2f} dB SI-SDRi" in setup
    assert (f"the dog comes out {scores['dog-in-street']['right']:.1f} dB clearer, the rain under speech "
            f"{scores['rain-under-speech']['right']:.1f} dB, the bells only {scores['bells-over-speech']['right']:.1f} dB") in setup
    assert "asked for the traffic instead of the dog or the birds, it keeps part of them" in setup
    street = ("dog-in-street", "birds-in-street")  # the two weak wrong-query controls the sentence names
    assert min(scores[k]["wrong"] for k in street) > -4 > max(s["wrong"] for k, s in scores.items() if k not in street)
    unseen = card["scores"][unseen_set(card)]
    assert (f"figure for unseen sources queried with natural captions is {unseen['caption']['si_sdri']:+.2f} dB "
            f"({unseen['class_caption']['si_sdri']:+.2f} dB with class templates)") in setup


def test_docs_efficiency_opens_with_the_shipped_models_card_figures(card):
    answer = " ".join(EFFICIENCY.split("## Audio-only pool", 1)[0].split())
    assert len(EFFICIENCY.split("## Audio-only pool", 1)[0].splitlines()) < 40
    assert f"`{card['name']}`" in answer and f"{card['training']['steps']:,} steps" in answer
    for name in scored_sets(card):
        assert f"`{name}`" in answer and f"**{triple(card, name)}**" in answer
    speed = card["speed"]
    assert f"{speed['separator_s']:.3f} s in the separator, {speed['extract_call_s']:.3f} s per `extract()` call" in answer


def test_readme_opens_with_what_tqse_does_and_the_demo_command_in_under_40_lines():
    """Issue 25: the first five minutes. What tqse does, what the paper claims against what tqse measured, and
    the one command that shows the shipped model at work, before line 40."""
    opening = README.splitlines()[:40]
    assert opening[0].startswith("# tqse") and any("**The paper reports**" in line for line in opening)
    assert any("**What tqse measured**" in line for line in opening)
    assert any(line.strip() == "bash scripts/install.sh && .venv/bin/tqse demo" for line in opening)


def test_readme_quotes_the_table1_grid_rows_it_names():
    """Issue 24: the opening's figures of the fair Table I grid are the A0 and A3 rows' means ± sd over the seeds
    the committed report records (best and last checkpoint), rounded as quoted, so they move as seeds land."""
    a0, a3 = SEEDS_OF["A0"], SEEDS_OF["A3"]
    assert "9,300 CPU steps per run" in OPENING and {run["steps"] for run in GRID_RUNS} == {9300}
    assert "Means ± sd over seeds, SI-SDRi on the test mixtures (two sources, SNR U[-5, 5] dB)" in OPENING
    assert (f"A0 separates by text ({mean_sd(a0, 'test-class_caption')} dB with templates, "
            f"{mean_sd(a0, 'unseen-class_caption')} on unseen sources; "
            f"its wrong query {mean_sd(a0, 'test-interferer_class_caption')})") in OPENING
    assert (f"separates by the target's audio ({mean_sd(a3, 'test-target_audio', last=True)} dB at its last "
            f"checkpoint) but hardly by text ({mean_sd(a3, 'test-class_caption')} at its best "
            f"checkpoint, {mean_sd(a3, 'test-class_caption', last=True)} at its last)") in OPENING


def mean_sd(seeds: list[dict], column: str, last: bool = False) -> str:
    """A row's mean ± sd over its seeds' records in ``runs.json`` (best checkpoint, or the last), as quoted."""
    mean, sd, _ = seed_stats([seed["scores_last" if last else "scores"][column]["si_sdri"] for seed in seeds])
    return f"{mean:+.1f} ± {sd:.1f}"


def spoken(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def gap_range(gaps: list[float]) -> str:
    return f"{min(gaps):.1f}" if f"{min(gaps):.1f}" == f"{max(gaps):.1f}" else f"{min(gaps):.1f}-{max(gaps):.1f}"


COUNTS = {1: "", 2: " two", 3: " three", 4: " four", 5: " five"}


def seeds_measured(counts: dict[str, int]) -> str:
    """How the opening says which seeds are done: 'the first two seeds of A0 and A3', or with rows further on,
    'the first three seeds of A0; the first two of A3 and A9; the first of A2'."""
    by_count: dict[int, list[str]] = {}
    for row, count in counts.items():
        by_count.setdefault(count, []).append(row)
    parts = []
    for i, count in enumerate(sorted(by_count, reverse=True)):
        noun = ("seeds" if count > 1 else "seed") if i == 0 else ""
        parts.append(" ".join(w for w in (f"the first{COUNTS[count]}", noun, "of", spoken(by_count[count])) if w))
    return "; ".join(parts)


def test_seeds_measured_groups_rows_by_how_many_seeds_they_have():
    assert seeds_measured({"A0": 2, "A3": 2}) == "the first two seeds of A0 and A3"
    assert seeds_measured({"A0": 3, "A3": 2, "A9": 2, "A2": 1}) == (
        "the first three seeds of A0; the first two of A3 and A9; the first of A2")


def captions_baseline() -> dict[str, str]:
    """Each row's captions row as the report's declared pairs name it (A0, or AV0 for the pool's AV rows)."""
    pairs = load_script(ROOT / "benchmarks" / "table1.py").PAIRS
    return {row: base for base, row in pairs if base in ("A0", "AV0")} | {"A0": "A0", "AV0": "AV0"}


def test_readme_names_the_rows_with_more_than_one_seed_and_compares_them_to_captions_by_the_rule():
    """Issue 24: as seeds land, the opening says how many seeds of each row are done; a row with more than one
    that the declared rule (:func:`compare`, as the report applies it) calls below its captions row (A0, or AV0
    for the pool's AV5) with class templates on all three test sets is quoted with its gap range; any other with
    its and the captions row's `test` mean ± sd and, set by set, where it is within spread, below or above (with
    the gaps), so its words cannot lag or outrun the report."""
    runs = {r["name"]: {column: {"metrics": scores} for column, scores in r["scores"].items()} for r in GRID_RUNS}
    assert f"is {seeds_measured({row: len(seeds) for row, seeds in SEEDS_OF.items()})}." in OPENING
    seeded = [row for row, seeds in SEEDS_OF.items() if len(seeds) > 1]
    baseline_of = captions_baseline()

    def spread(row: str) -> str:
        return f"{row} {mean_sd(SEEDS_OF[row], 'test-class_caption')}"

    for baseline in ("A0", "AV0"):
        ranges, within = [], []
        for row in (r for r in seeded if r != baseline and baseline_of[r] == baseline):
            results = {s: compare(runs, row, baseline, f"{s}-class_caption") for s in ("test", "ood", "unseen")}
            verdicts = {s: ("within" if not r["real"] else "below" if r["diff"] > 0 else "above")
                        for s, r in results.items()}
            if set(verdicts.values()) == {"below"}:
                ranges.append(gap_range([r["diff"] for r in results.values()]))
                continue
            within.append(row)
            assert spread(row) in OPENING, f"README.md: {row} is within {baseline}'s spread somewhere"
            # Where the rule does call it below or above, the opening says on which sets and by how much.
            for verdict, words in (("within", f"within {baseline}'s spread with templates on"),
                                   ("below", "below it on"), ("above", "above it on")):
                sets = [s for s, v in verdicts.items() if v == verdict]
                if not sets:
                    continue
                gaps = [abs(results[s]["diff"]) for s in sets]
                said = f"{words} {spoken([f'`{s}`' for s in sets])}" + ("" if verdict == "within" else
                                                                      f" (by {gap_range(gaps)} dB)")
                assert said in OPENING, f"README.md should say {row} is {said!r}"
        assert not ranges or f"(by {spoken(ranges)} dB)" in OPENING
        assert not within or spread(baseline) in OPENING
