"""The command line: one entry point, one subcommand per tool. `python -m cnn <command> --help` explains each.

    python -m cnn train --arch c16pc16 --epochs 5 --out weights/c16pc16.npz
    python -m cnn bench --arch c16pc16 --json
    python -m cnn experiment
    python -m cnn synth --model weights/default.npz --n 100
    python -m cnn photobench --model weights/default.npz --n 200
    python -m cnn sweep --origin --sample 100 --seeds 3

The train command is here; every other tool is a module of cnn/ with a main(argv).
"""
import argparse
import dataclasses
import importlib
import sys

from tqdm import tqdm

from cnn.engine.malloc import keep_freed_memory
from cnn.engine.model import build_model
from cnn.engine.parallel import WorkerError
from cnn.engine.spec import ACTIVATIONS, NetSpec
from cnn.engine.training import DivergenceError, TrainConfig, train
from cnn.files.mnist import MnistError, load_mnist
from cnn.files.weights import save_model

# command -> (module whose main(argv) runs it, what it does)
TOOLS = {"bench": ("cnn.studies.bench", "speed and memory figures on real MNIST"),
         "experiment": ("cnn.studies.experiment", "the origin's ten configurations under two protocols"),
         "synth": ("cnn.studies.synth", "accuracy on synthetic canvas drawings"),
         "calibration": ("cnn.teach.calibration", "fit a model's temperature on held-out images"),
         "nondigits": ("cnn.studies.nondigits", "how often 'not sure' flags non-digit drawings and digit drawings"),
         "notdigit": ("cnn.studies.notdigit_study", "train the not-a-digit detector, measured on held-out kinds"),
         "adversarial": ("cnn.teach.adversarial", "how large an input change fools a model"),
         "photobench": ("cnn.studies.photobench", "accuracy on photographed-style digits"),
         "sweep": ("cnn.studies.sweep", "architectures x seeds, each run a task on Dask (the architecture study)")}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    commands = {"train": "train a network on MNIST", **{name: text for name, (_, text) in TOOLS.items()}}
    if not argv or argv[0] not in commands:
        listing = "\n".join(f"  {name:12} {text}" for name, text in commands.items())
        print(f"usage: python -m cnn <command> [options]\n\ncommands:\n{listing}", file=sys.stderr)
        raise SystemExit(0 if argv and argv[0] in ("-h", "--help") else 2)
    keep_freed_memory()                    # a command line process trains: reuse freed memory (cnn/engine/malloc.py)
    command, rest = argv[0], argv[1:]
    if command == "train":
        return train_command(rest)
    return importlib.import_module(TOOLS[command][0]).main(rest)


def train_command(argv):
    d = TrainConfig()
    p = argparse.ArgumentParser(prog="python -m cnn train", description="Train a CNN on MNIST.")
    p.add_argument("--arch", default="c16pc16", help="architecture, e.g. c8p, c16pc16, c32pc64pd128")
    p.add_argument("--activation", choices=ACTIVATIONS, default="relu")
    p.add_argument("--input-offset", type=float, default=0.0, help="added to pixels in [0, 1]")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--lr", type=float, default=d.lr, help="learning rate")
    p.add_argument("--lr-decay", type=float, default=d.lr_decay, help="learning rate factor per epoch")
    p.add_argument("--optimizer", choices=["adam", "sgd"], default=d.optimizer)
    p.add_argument("--momentum", type=float, default=d.momentum, help="SGD momentum")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--n-train", type=int, default=d.n_train, help="number of training images")
    p.add_argument("--augment", action="store_true", help="random shifts, rotations, scalings")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--out", help="where to save the weights (.npz)")
    args = p.parse_args(argv)
    config = TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})
    try:
        spec = NetSpec(args.arch, args.activation, args.input_offset)
        config.validate()
        x_train, y_train, x_test, y_test = load_mnist()
        model = build_model(spec, seed=config.seed)
        print(f"{spec.arch}: {model.n_params:,} parameters, {config.n_train:,} training images", file=sys.stderr)
        with Progress() as progress:
            train(model, x_train, y_train, x_test, y_test, config, callback=progress)
        if args.out:
            save_model(model, args.out)
            print(f"saved {args.out}", file=sys.stderr)
    except (ValueError, MnistError, DivergenceError, WorkerError, OSError) as e:   # cnn.ArchError is a ValueError
        p.exit(2, f"error: {e}\n")
    except KeyboardInterrupt:
        p.exit(130, "\ninterrupted" + (f": {args.out} was not written\n" if args.out else "\n"))


class Progress:
    """A training callback: a progress bar per epoch on a terminal (none in a log), and one line per epoch."""

    def __init__(self):
        self.bar = None

    def __call__(self, event):
        if event["kind"] == "batch":
            if self.bar is None:
                self.bar = tqdm(total=event["n_batches"], desc=f"epoch {event['epoch']}", unit="batch",
                                file=sys.stderr, disable=None, leave=False)   # disable=None: off unless a terminal
            self.bar.update(event["batch"] - self.bar.n)
            self.bar.set_postfix(loss=f"{event['loss']:.4f}", refresh=False)
            return
        self.close()
        tqdm.write(f"epoch {event['epoch']}: train loss {event['train_loss']:.4f} acc {event['train_acc']:.4f} | "
                   f"test loss {event['test_loss']:.4f} acc {event['test_acc']:.4f} | {event['seconds']:.1f} s",
                   file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


if __name__ == "__main__":
    main()
