"""Train a network on MNIST from the command line.

    python -m cnn.train --arch c16pc16 --epochs 5 --out weights/c16pc16.npz

Only for running: in code, use cnn.train (the function) and cnn.training; importing this module
would shadow the function cnn.train with the module of the same name.
"""
import argparse
import dataclasses
import sys

from .arch import ArchError
from .data import MnistError, load_mnist
from .model import ACTIVATIONS, build_model
from .parallel import WorkerError
from .training import DivergenceError, TrainConfig, train
from .weights import save_model


def main(argv=None):
    d = TrainConfig()
    p = argparse.ArgumentParser(prog="python -m cnn.train", description="Train a CNN on MNIST.")
    p.add_argument("--arch", default=d.arch, help="architecture, e.g. c8p, c16pc16, c32pc64pd128")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--lr", type=float, default=d.lr, help="learning rate")
    p.add_argument("--lr-decay", type=float, default=d.lr_decay, help="learning rate factor per epoch")
    p.add_argument("--optimizer", choices=["adam", "sgd"], default=d.optimizer)
    p.add_argument("--momentum", type=float, default=d.momentum, help="SGD momentum")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--n-train", type=int, default=d.n_train, help="number of training images")
    p.add_argument("--activation", choices=ACTIVATIONS, default=d.activation)
    p.add_argument("--input-offset", type=float, default=d.input_offset)
    p.add_argument("--augment", action="store_true", help="random shifts, rotations, scalings")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--out", help="where to save the weights (.npz)")
    args = p.parse_args(argv)
    config = TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})
    try:
        config.validate()
        x_train, y_train, x_test, y_test = load_mnist()
        model = build_model(config.arch, config.activation, config.seed, config.input_offset)
        print(f"{config.arch}: {model.n_params:,} parameters, {config.n_train:,} training images", file=sys.stderr)
        train(model, x_train, y_train, x_test, y_test, config, callback=_progress_bar)
        if args.out:
            save_model(model, args.out)
            print(f"saved {args.out}", file=sys.stderr)
    except (ArchError, ValueError, MnistError, DivergenceError, WorkerError, OSError) as e:
        p.exit(2, f"error: {e}\n")
    except KeyboardInterrupt:
        p.exit(130, "\ninterrupted" + (f": {args.out} was not written\n" if args.out else "\n"))


def _progress_bar(event):
    if event["kind"] == "batch":
        done = event["batch"] / event["n_batches"]
        if event["batch"] % 20 == 0 or done == 1:
            bar = "#" * int(30 * done)
            print(f"\repoch {event['epoch']} [{bar:<30}] {done:4.0%} loss {event['loss']:.4f}",
                  end="", file=sys.stderr, flush=True)
    else:
        print(f"\repoch {event['epoch']}: train loss {event['train_loss']:.4f} acc {event['train_acc']:.4f} | "
              f"test loss {event['test_loss']:.4f} acc {event['test_acc']:.4f} | {event['seconds']:.1f} s",
              file=sys.stderr)


if __name__ == "__main__":
    main()
