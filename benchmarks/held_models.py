"""Models held in the server's memory (issue 20): several sessions of one public app process each train as many
models as a session keeps, through the sidebar (AppTest: every session in this process, as in a server). Prints the
process's memory before and after, and, where the app has one, the bound's ledger.

    MNIST_DIR=... python benchmarks/held_models.py --sessions 3 --models 8 --arch c64d100 [--root DIR]

--root runs another checkout's app (e.g. `git archive dcb3262 | tar -x -C /tmp/before`). Set CNN_MAX_HELD_MB to
change the bound (default 600).
"""
import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parents[1]


def rss_mb():
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def train(at, arch, n_train):
    sidebar = at.sidebar
    next(t for t in sidebar.text_input if t.label.startswith("…or type")).input(arch)
    number = {n.label: n for n in sidebar.number_input}
    number["Training images"].set_value(n_train)
    number["Epochs"].set_value(1)
    next(b for b in sidebar.button if b.label == "Start training").click()
    at.run()
    deadline = time.monotonic() + 600
    while not at.session_state["job"].done and time.monotonic() < deadline:
        time.sleep(0.2)
    at.run()
    assert not at.exception, at.exception


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument("--models", type=int, default=8)
    parser.add_argument("--arch", default="c64d100")
    parser.add_argument("--n-train", type=int, default=512)
    parser.add_argument("--root", default=str(HERE))
    args = parser.parse_args()
    os.environ.update(CNN_PUBLIC="1", CNN_DATA_DIR=tempfile.mkdtemp(prefix="cnn-held-"))
    os.chdir(args.root)
    sys.path.insert(0, args.root)
    from streamlit.testing.v1 import AppTest
    sessions = [AppTest.from_file(str(Path(args.root) / "app.py"), default_timeout=600).run()
                for _ in range(args.sessions)]
    before, start = rss_mb(), time.perf_counter()
    for _ in range(args.models):
        for at in sessions:
            train(at, args.arch, args.n_train)
    held = [len(at.session_state["session_models"]) for at in sessions]
    result = {"sessions": args.sessions, "models_trained": args.sessions * args.models, "arch": args.arch,
              "models_held": held, "rss_before_mb": round(before), "rss_after_mb": round(rss_mb()),
              "seconds": round(time.perf_counter() - start)}
    try:
        from ui.state import held as ledger
        result.update(ledger_mb=round(ledger.total_bytes() / 2**20), bound_mb=round(ledger.max_bytes() / 2**20),
                      told=sum("dropped from the server's memory" in w.value for at in sessions for w in at.warning))
    except ImportError:
        pass
    result["grew_mb"] = result["rss_after_mb"] - result["rss_before_mb"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
