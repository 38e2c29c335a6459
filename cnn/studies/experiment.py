"""The configuration experiment: every configuration of the origin script under two protocols.

    python -m cnn experiment                      # both protocols, all configurations
    python -m cnn experiment --protocol origin    # only the origin's protocol

Results go to weights/experiment.json (written after every run, so an interrupted experiment keeps
what it finished and a rerun skips it), and the best seed of the full protocol for each
configuration to weights/<arch>.npz. The JSON format:

    {"format": 1, "protocols": {"origin" | "full": {
        "description": str, "settings": {TrainConfig fields, activation, input_offset}, "n_test": int,
        "runs": [{"arch": str, "seed": int, "params": int,
                  "history": [{"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds", "complete"}]}]}}}
"""
import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from cnn.engine.model import build_model
from cnn.engine.training import TrainConfig, train
from cnn.files.atomic import write_atomic
from cnn.files.mnist import MnistError, load_mnist
from cnn.files.weights import save_model

from .origin import CONFIGURATIONS

PROTOCOLS = {
    "origin": dict(description="The origin's protocol: the first 1,000 training images, one pass, batch size 1, "
                               "plain SGD with learning rate 0.005, no activation, inputs in [-0.5, 0.5]; "
                               "tested on the first 1,000 test images. Training figures are running averages "
                               "over the pass, as the origin printed them.",
                   config=TrainConfig(epochs=1, lr=0.005, batch_size=1, optimizer="sgd", momentum=0.0, n_train=1000),
                   net=dict(activation="none", input_offset=-0.5),
                   n_test=1000, seeds=5),
    "full": dict(description="All 60,000 training images, 5 epochs, batch 64, Adam with learning rate 0.002 "
                             "decaying by 0.6 per epoch, ReLU; tested on all 10,000 test images after every epoch.",
                 config=TrainConfig(epochs=5), net=dict(activation="relu", input_offset=0.0), n_test=10000, seeds=3),
}


def run_protocol(name, results, data, out_dir, archs, seeds, overrides, n_test, log):
    """Train every (arch, seed) of a protocol that results does not hold yet; save the best full-protocol model."""
    spec = PROTOCOLS[name]
    config = dataclasses.replace(spec["config"], **overrides)
    n_test = min(spec["n_test"], n_test or spec["n_test"])
    settings = {**dataclasses.asdict(config), **spec["net"]}
    section = results["protocols"].setdefault(name, {"runs": []})
    if section.get("settings") != settings or section.get("n_test") != n_test:
        section["runs"] = []   # other settings: the earlier runs are not comparable
    section.update(description=spec["description"], settings=settings, n_test=n_test)
    x_train, y_train, x_test, y_test = data
    for arch in archs:
        for seed in range(seeds):
            runs = [r for r in section["runs"] if r["arch"] == arch]
            if not any(r["seed"] == seed for r in runs):
                model = build_model(arch, seed=seed, **spec["net"])
                train(model, x_train, y_train, x_test[:n_test], y_test[:n_test], dataclasses.replace(config, seed=seed))
                section["runs"].append({"arch": arch, "seed": seed, "params": model.n_params,
                                        "history": model.history})
                write_json(results, out_dir / "experiment.json")
                if name == "full" and all(model.history[-1]["test_acc"] >= r["history"][-1]["test_acc"] for r in runs):
                    save_model(model, out_dir / f"{arch}.npz")   # the best seed so far
            last = next(r for r in section["runs"] if r["arch"] == arch and r["seed"] == seed)["history"][-1]
            log(f"{name:6} {arch:9} seed {seed}: train acc {last['train_acc']:.4f}  test acc {last['test_acc']:.4f}  "
                f"test loss {last['test_loss']:.4f}")


def summary(results):
    """A Markdown table per protocol: mean and standard deviation over seeds of the final figures."""
    lines = []
    for name, section in results["protocols"].items():
        lines += [f"{name} protocol ({section['n_test']:,} test images)", "",
                  "| arch | params | seeds | train acc | test acc | test loss | s/epoch |", "|---" * 7 + "|"]
        for arch in dict.fromkeys(r["arch"] for r in section["runs"]):
            runs = [r for r in section["runs"] if r["arch"] == arch]
            cell = lambda key, runs=runs: _mean_std([r["history"][-1][key] for r in runs])  # noqa: E731
            seconds = np.mean([e["seconds"] for r in runs for e in r["history"]])
            lines.append(f"| {arch} | {runs[0]['params']:,} | {len(runs)} | {cell('train_acc')} | {cell('test_acc')} "
                         f"| {cell('test_loss')} | {seconds:.1f} |")
        lines.append("")
    return "\n".join(lines)


def _mean_std(values):
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}"


def write_json(results, path):
    write_atomic(path, json.dumps(results, indent=1).encode())


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m cnn experiment", description=__doc__.split("\n")[0])
    p.add_argument("--protocol", choices=["origin", "full", "both"], default="both")
    p.add_argument("--archs", nargs="+", default=CONFIGURATIONS)
    p.add_argument("--seeds", type=int, help="seeds per configuration (default 5 origin, 3 full)")
    p.add_argument("--epochs", type=int, help="override the protocol's epochs")
    p.add_argument("--n-train", type=int, help="override the protocol's number of training images")
    p.add_argument("--n-test", type=int, help="use at most this many test images")
    p.add_argument("--out", default="weights", help="folder for experiment.json and the weights files")
    p.add_argument("--summary", action="store_true", help="print the results as Markdown tables and stop")
    args = p.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "experiment.json"
    results = json.loads(path.read_text()) if path.exists() else {"format": 1, "protocols": {}}
    if args.summary:
        return print(summary(results))
    overrides = {k: v for k, v in (("epochs", args.epochs), ("n_train", args.n_train)) if v is not None}
    try:
        data = load_mnist()
    except MnistError as e:
        p.exit(2, f"error: {e}\n")
    for name in (["origin", "full"] if args.protocol == "both" else [args.protocol]):
        run_protocol(name, results, data, out_dir, args.archs, args.seeds or PROTOCOLS[name]["seeds"],
                     overrides, args.n_test, log=lambda line: print(line, file=sys.stderr, flush=True))



if __name__ == "__main__":
    main()
