"""CPU seconds of training and prediction in one process: the engine's speed on a loaded machine (not collected
by pytest).

    MNIST_DIR=../shared/mnist python benchmarks/cpu_epoch.py c16pc16

One 4,096-image epoch of cnn.train in this process only (SGD, batch 64, processes=1), and predicting 2,000 test
images, each timed in this process's CPU seconds (user + system), which another process's load stretches far less
than the wall time. To compare two commits, copy this file into each commit's checkout (it imports the cnn/
beside it) and run the copies alternately.
"""
import argparse
import json
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cnn  # noqa: E402
from cnn.files.mnist import load_mnist  # noqa: E402


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(arch):
    x, y, x_test, y_test = load_mnist()
    config = cnn.TrainConfig(epochs=1, optimizer="sgd", lr=0.01, momentum=0.9, batch_size=64, n_train=4096)
    model = cnn.build_model(arch, seed=0)
    cnn.train(model, x, y, x_test[:64], y_test[:64], cnn.TrainConfig(epochs=1, n_train=256), processes=1)  # warm
    start = cpu_seconds()
    cnn.train(cnn.build_model(arch, seed=0), x, y, x_test[:64], y_test[:64], config, processes=1)
    train_s = cpu_seconds() - start
    start = cpu_seconds()
    model.predict(x_test[:2000])
    print(json.dumps({"arch": arch, "train_cpu_s": round(train_s, 3), "infer_cpu_s": round(cpu_seconds() - start, 3)}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("arch", nargs="?", default="c16pc16", help="architecture (default c16pc16)")
    main(parser.parse_args().arch)
