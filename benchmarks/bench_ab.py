"""The Draw page's mouse-up -> Prediction latency of this checkout against another commit, alternating in one run:

    python benchmarks/bench_ab.py [--against main] [--strokes 15]

The other commit is exported (git archive) to a temporary folder; both servers run at once on the same weights
(weights/ or CNN_WEIGHTS_DIR), one browser page each, and each stroke goes to A then B, B then A the next time,
so a machine's drift and load fall on both alike. Prints the medians and their ratio (this checkout / the other).
"""
import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_app import latency  # noqa: E402

from browser_helpers import DIGITS, launch, open_app, start_server, stop_server  # noqa: E402


def export(commit, folder):
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--against", default="main", help="the commit to compare with (default: main)")
    p.add_argument("--strokes", type=int, default=15, help="timed strokes on each side")
    args = p.parse_args()
    weights = os.environ.get("CNN_WEIGHTS_DIR") or str(ROOT / "weights")
    if not (Path(weights) / "default.npz").exists():
        p.exit(2, f"error: {weights}/default.npz is missing: set CNN_WEIGHTS_DIR or train a default model.\n")
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as other:
        export(args.against, other)
        sides = {"this checkout": ROOT, args.against: Path(other)}
        servers = {name: start_server({"CNN_WEIGHTS_DIR": weights}, root) for name, root in sides.items()}
        times = {name: [] for name in sides}
        try:
            with sync_playwright() as pw:
                context = launch(pw)
                pages = {name: context.new_page() for name in sides}
                for name, page in pages.items():
                    open_app(page, servers[name][1])
                digits = list(DIGITS.values())
                for i in range(args.strokes):
                    for name in (list(sides) if i % 2 == 0 else list(sides)[::-1]):
                        pages[name].bring_to_front()        # a page behind others gets no frames
                        times[name].append(latency(pages[name], digits[i % len(digits)]))
                context.close()
        finally:
            for proc, _, _ in servers.values():
                stop_server(proc)
    for name, t in times.items():
        print(f"{name:>14}: mouse-up -> Prediction median {statistics.median(t) * 1000:.0f} ms "
              f"(min {min(t) * 1000:.0f}, max {max(t) * 1000:.0f}) over {len(t)} strokes")
    ours, theirs = (statistics.median(t) for t in times.values())
    print(f"ratio this checkout / {args.against}: {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
