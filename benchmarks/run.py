"""Time what readers wait for, and write the results into the README and the book's performance page.

    python benchmarks/run.py                 # explorer retrains and notebooks (a few minutes)
    python benchmarks/run.py --make-test     # also the whole `make test` (tens of minutes)
    python benchmarks/run.py --quick         # retrains only
    python benchmarks/run.py --only 'chapters/generation/*.ipynb'   # re-time some notebooks, keep the others

Measures, on this machine: the median time of one FusionExplorer retrain for every fusion (default settings, on
the synergy and the digits data), of one CoordinationExplorer retrain (default settings) and of one PIDExplorer
slider move, of one reasoning-explorer question, of one generation-explorer step and of one
transference-explorer retrain per method, every notebook's
execution time (nbclient, one kernel at a time), and optionally the wall time of
`make test`. Results go to benchmarks/results.json and replace the block between
``<!-- benchmark-table -->`` markers in README.md and chapters/appendix/performance.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER, END = "<!-- benchmark-table -->", "<!-- /benchmark-table -->"
GOAL_RETRAIN, GOAL_NOTEBOOK, GOAL_GENERATION = 0.5, 60.0, 0.2


def machine() -> str:
    import torch

    from mmcourse import get_device

    device = get_device()
    gpu = f", GPU {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ", no GPU"
    return (f"{platform.machine()}, {os.cpu_count()} cores{gpu}; Python {platform.python_version()}, "
            f"torch {torch.__version__}, {torch.get_num_threads()} torch thread(s)")


def time_retrains(repeats: int) -> dict[str, dict[str, float]]:
    from mmcourse.representation import FUSIONS
    from mmcourse.widgets import FusionExplorer

    explorer = FusionExplorer(datasets=["synergy", "digits"])
    explorer.train("tensor", "synergy")  # warm-up: first calls pay for lazy initialisation
    results = {}
    for fusion in FUSIONS:
        results[fusion] = {}
        for dataset in ("synergy", "digits"):
            seconds = [explorer.train(fusion, dataset).seconds for _ in range(repeats)]
            results[fusion][dataset] = statistics.median(seconds)
        print(f"retrain {fusion:18s} " + "  ".join(f"{d} {s:.3f} s" for d, s in results[fusion].items()), flush=True)
    return results


def time_coordination_retrain(repeats: int) -> float:
    from mmcourse.widgets import CoordinationExplorer

    explorer = CoordinationExplorer()
    explorer.train()  # warm-up
    seconds = statistics.median(explorer.train().seconds for _ in range(repeats))
    print(f"retrain coordination explorer {seconds:.3f} s", flush=True)
    return seconds


def time_pid_explorer(repeats: int) -> dict[str, float]:
    """One slider move of the PID explorer (a mixture decomposed) and its dataset mode's first estimate."""
    from mmcourse.widgets import PID_PAIRS, PIDExplorer

    explorer = PIDExplorer()
    explorer.bars(*PID_PAIRS[0], 0.5)  # warm-up: the first solve imports cvxpy
    moves = [_timed(explorer.bars, a, b, t) for _ in range(repeats) for a, b in PID_PAIRS for t in (0.3, 0.7)]
    dataset = _timed(explorer.dataset_pid, "synergy")
    result = {"slider move": statistics.median(moves), "dataset (first time)": dataset}
    print("PID explorer " + "  ".join(f"{k} {v:.3f} s" for k, v in result.items()), flush=True)
    return result


def time_reasoning_explorer(repeats: int) -> float:
    """One live step of the reasoning explorer: a new question parsed, executed and answered by the module
    network, the flat FiLM model and the neuro-symbolic pipeline (weights do not change the cost: untrained)."""
    from mmcourse.data import load_scene_questions
    from mmcourse.reasoning import FiLMModel, NeuralModuleNetwork, SceneParser
    from mmcourse.widgets import ReasoningExplorer, model_reasoner, symbolic_reasoner

    split = load_scene_questions(n_train=20, n_val=2, n_test=20, n_heldout=2, cache=False)["test"]
    reasoners = {"module network": model_reasoner(NeuralModuleNetwork()), "flat FiLM": model_reasoner(FiLMModel()),
                 "neuro-symbolic": symbolic_reasoner(SceneParser())}
    explorer = ReasoningExplorer(split, reasoners, examples=[0])
    questions = ("how many objects are above the red square ?", "is there a red object and a circle ?",
                 "how many objects are not yellow ?")
    explorer.example(0, questions[0])  # warm-up
    step = statistics.median(_timed(explorer.example, i % len(split), q) for i in range(repeats) for q in questions)
    print(f"reasoning explorer: a new question {step:.3f} s", flush=True)
    return step


def time_generation_explorer(repeats: int) -> float:
    """One live step of the generation explorer: a new source cross-generated, or a new latent point decoded, then
    both modalities read by their judges (weights do not change the cost: untrained models and judges)."""
    import torch

    from mmcourse.generation import MMVAE, MVAE
    from mmcourse.widgets import GenerationExplorer

    data = {"image": torch.rand(20, 8, 8), "audio": torch.rand(20, 12, 16), "label": torch.arange(20) % 10}
    judges = {m: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(n, 10)) for m, n in (("image", 64),
                                                                                            ("audio", 192))}
    explorer = GenerationExplorer({"MVAE": MVAE(), "MMVAE": MMVAE()}, data, judges, examples=[0])
    views = [("MVAE", "image → audio", {"index": 3}), ("MMVAE", "audio → image", {"index": 5}),
             ("MMVAE", "joint", {"z1": 1.0, "z2": -0.5})]
    explorer.generate("MVAE", "joint")  # warm-up
    step = statistics.median(_timed(lambda m, d, kw: explorer.generate(m, d, **kw), *view)
                             for _ in range(repeats) for view in views)
    print(f"generation explorer: a new source or latent point {step:.4f} s", flush=True)
    return step


def time_transference_explorer(repeats: int) -> dict[str, float]:
    """One live retrain of the transference explorer per method, at the largest number of labels it offers (500:
    the slowest), median of ``repeats`` fresh explorers (each run is trained once, then kept)."""
    from mmcourse.widgets import EXPLORER_COUNTS, TransferenceExplorer, digits_transference_methods

    methods = digits_transference_methods(seed=0)
    n = max(EXPLORER_COUNTS)
    times = {name: statistics.median(_timed(TransferenceExplorer(methods, [n]).run, name, n) for _ in range(repeats))
             for name in methods}
    print("transference explorer: " + ", ".join(f"{m} {t:.3f} s" for m, t in times.items()), flush=True)
    return times


def _timed(call, *args) -> float:
    start = time.perf_counter()
    call(*args)
    return time.perf_counter() - start


def time_notebooks(only: list[str] | None = None) -> dict[str, float]:
    import nbformat
    from nbclient import NotebookClient

    from mmcourse.book import notebooks

    results = {}
    for path in notebooks():
        if only and not any(path.relative_to(ROOT).match(pattern) for pattern in only):
            continue
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(path.parent)}}).execute()
        results[str(path.relative_to(ROOT))] = time.perf_counter() - start
        print(f"notebook {path.relative_to(ROOT)}: {results[str(path.relative_to(ROOT))]:.1f} s", flush=True)
    return results


def time_make_test() -> float:
    start = time.perf_counter()
    subprocess.run(["make", "test"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def table(results: dict) -> str:
    lines = [MARKER, "", f"Measured on {results['date']}: {results['machine']}.", ""]
    retrains = results["retrain"]
    lines += [f"**Explorer retrain** (median of {results['repeats']}, default settings; goal < {GOAL_RETRAIN} s):", "",
              "| fusion | synergy (s) | digits (s) |", "|---|---|---|"]
    lines += [f"| {f} | {r['synergy']:.3f} | {r['digits']:.3f} |" for f, r in retrains.items()]
    if results.get("coordination_retrain") is not None:
        lines += ["", f"**Coordination explorer retrain** (median of {results['repeats']}, default settings: "
                  f"contrastive training on the digits pair): {results['coordination_retrain']:.3f} s."]
    if results.get("pid_explorer"):
        pid = results["pid_explorer"]
        lines += ["", f"**PID explorer**: one slider move (a mixture decomposed, median over the pairs) "
                  f"{pid['slider move']:.3f} s; dataset mode, first estimate (a label-aware discretiser trained, "
                  f"then the table solved) {pid['dataset (first time)']:.2f} s, cached afterwards."]
    if results.get("reasoning_explorer") is not None:
        lines += ["", f"**Reasoning explorer**: a new question (parsed, executed, answered by the module network, the "
                  f"flat model and the neuro-symbolic pipeline; median of {3 * results['repeats']}) "
                  f"{results['reasoning_explorer']:.3f} s."]
    if results.get("generation_explorer") is not None:
        lines += ["", f"**Generation explorer**: a new source cross-generated or a new latent point decoded, both "
                  f"modalities judged (median of {3 * results['repeats']}; goal < {GOAL_GENERATION} s) "
                  f"{results['generation_explorer']:.4f} s."]
    if results.get("transference_explorer"):
        cells = ", ".join(f"{m} {t:.3f} s" for m, t in results["transference_explorer"].items())
        lines += ["", f"**Transference explorer**: one live retrain with 500 labelled recordings, the slowest count "
                  f"(median of {results['repeats']}; goal < {GOAL_RETRAIN} s): {cells}."]
    if results.get("notebooks"):
        retimed = results.get("notebooks_retimed")
        when = f"; only `{retimed}` re-timed on {results['date']}, the others as last recorded" if retimed else ""
        lines += ["", f"**Notebook execution** (goal < {GOAL_NOTEBOOK:.0f} s each{when}):", "",
                  "| notebook | seconds |", "|---|---|"]
        lines += [f"| `{p}` | {s:.1f} |" for p, s in results["notebooks"].items()]
    if results.get("make_test"):
        lines += ["", f"**`make test`** (environment already built): {results['make_test'] / 60:.1f} minutes."]
    lines += ["", END]
    return "\n".join(lines)


def write_table(path: Path, text: str) -> None:
    content = path.read_text()
    if MARKER not in content:
        raise SystemExit(f"{path} has no {MARKER} marker")
    head, _, rest = content.partition(MARKER)
    tail = rest.partition(END)[2] if END in rest else ""
    path.write_text(head + text + tail)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="retrains only")
    parser.add_argument("--make-test", action="store_true", help="also time the whole `make test`")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--only", metavar="GLOB", action="append", help="time only the notebooks matching GLOB "
                        "(e.g. 'chapters/generation/*.ipynb'; repeatable) and keep the others' times of results.json")
    args = parser.parse_args()
    os.environ.setdefault("MMCOURSE_PROGRESS", "0")
    results = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "repeats": args.repeats,
               "retrain": time_retrains(args.repeats),
               "coordination_retrain": time_coordination_retrain(args.repeats),
               "pid_explorer": time_pid_explorer(args.repeats),
               "reasoning_explorer": time_reasoning_explorer(args.repeats),
               "generation_explorer": time_generation_explorer(args.repeats),
               "transference_explorer": time_transference_explorer(args.repeats)}
    if not args.quick:
        results["notebooks"] = time_notebooks(args.only)
        if args.only:  # the times of the notebooks not re-run stay those last recorded
            previous = json.loads((ROOT / "benchmarks" / "results.json").read_text()).get("notebooks", {})
            from mmcourse.book import notebooks
            order = [str(p.relative_to(ROOT)) for p in notebooks()]
            merged = {**previous, **results["notebooks"]}
            results["notebooks"] = {p: merged[p] for p in order if p in merged}
            results["notebooks_retimed"] = ", ".join(args.only)
    if args.make_test:
        results["make_test"] = time_make_test()
    text = table(results)
    print(text)
    if not args.no_write:
        (ROOT / "benchmarks" / "results.json").write_text(json.dumps(results, indent=1) + "\n")
        for path in (ROOT / "README.md", ROOT / "chapters" / "appendix" / "performance.md"):
            write_table(path, text)
    slow = [f for f, r in results["retrain"].items() if max(r.values()) > GOAL_RETRAIN]
    slow += ["coordination explorer"] if results["coordination_retrain"] > GOAL_RETRAIN else []
    slow += ["PID explorer"] if results["pid_explorer"]["slider move"] > GOAL_RETRAIN else []
    slow += ["reasoning explorer"] if results["reasoning_explorer"] > GOAL_RETRAIN else []
    slow += ["generation explorer"] if results["generation_explorer"] > GOAL_GENERATION else []
    slow += [f"transference explorer ({m})" for m, t in results["transference_explorer"].items() if t > GOAL_RETRAIN]
    slow += [p for p, s in results.get("notebooks", {}).items() if s > GOAL_NOTEBOOK]
    if slow:
        print(f"over the goal: {', '.join(slow)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
