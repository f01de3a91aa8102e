"""One ``tqse extract`` call, walked: the extraction path is one package a newcomer reads in a few modules.

How the walk is counted (issue 26 asks for at most 7 modules and at most 3 climbs): the command's function
(``tqse.commands.extract.run_command``) is traced with ``sys.setprofile`` from its call to its return, on a tiny
random model and a CC0 fixture clip. The *walk* lists the modules of the extraction path (the command module
and ``tqse.extract.*``) in the order they are first entered. Calls from the path into the layers below (audio,
data, query, models, base: libraries with their own tests) end the walk there; those modules are listed apart.
A *climb* is a step of the walk whose module is entered from a module other than the one entered just before
it: to follow the call on, the reader goes back up the call stack. Print the walk with

    python -m pytest tests/architecture/test_extraction_walk.py -s

(the tree before issue 26, traced the same way: 14 modules, 7 climbs).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from tqse.cli import build_parser
from tqse.data.locations import fixture_dir
from tqse.workflows.bench import random_model_dir

PATH = ("tqse.commands.extract", "tqse.extract")
MAX_MODULES, MAX_CLIMBS = 7, 3


@dataclass
class Walk:
    steps: list[tuple[str, str | None]]  # (module, the path module it was first entered from)
    libraries: list[str]  # modules below the path it calls into

    @property
    def climbs(self) -> list[str]:
        return [module for (module, caller), (previous, _) in zip(self.steps[1:], self.steps) if caller != previous]

    def __str__(self) -> str:
        lines = [("^ " if module in self.climbs else "  ") + module + (f"  <- {caller}" if caller else "")
                 for module, caller in self.steps]
        return "\n".join(lines + [f"{len(self.steps)} modules, {len(self.climbs)} climbs (^); below the path: "
                                  + ", ".join(self.libraries)])


def on_path(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in PATH)


def trace(argv: list[str]) -> Walk:
    args = build_parser().parse_args(argv)
    steps: dict[str, str | None] = {}
    libraries: dict[str, None] = {}

    def profile(frame, event, arg):
        if event != "call" or frame.f_code.co_name == "<module>":  # imports are not part of the walk
            return
        module = frame.f_globals.get("__name__", "")
        caller = frame.f_back
        while caller is not None and not on_path(caller.f_globals.get("__name__", "")):
            caller = caller.f_back
        caller_module = caller.f_globals["__name__"] if caller is not None else None
        if on_path(module) and module not in steps and module != caller_module:
            steps[module] = caller_module
        elif module.startswith("tqse") and not on_path(module) and caller is not None and caller is frame.f_back:
            libraries.setdefault(module)

    sys.setprofile(profile)
    try:
        args.func(args)
    finally:
        sys.setprofile(None)
    return Walk(list(steps.items()), list(libraries))


def test_one_extract_call_walks_at_most_7_modules_and_climbs_back_at_most_3_times(tmp_path):
    model = random_model_dir(tmp_path / "model")
    walk = trace(["extract", str(fixture_dir() / "perc_bell.flac"), "-q", "a bell", "--checkpoint", str(model),
                  "-o", str(tmp_path / "out"), "--device", "cpu", "--no-progress"])
    print(f"\n{walk}")
    assert walk.steps[0] == ("tqse.commands.extract", None)
    assert all(module.startswith("tqse.extract.") for module, _ in walk.steps[1:]), f"\n{walk}"
    assert len(walk.steps) <= MAX_MODULES and len(walk.climbs) <= MAX_CLIMBS, f"\n{walk}"
