"""The Draw page's mouse-up -> Prediction latency of this checkout against another checkout (e.g. a worktree of an
older commit), strokes alternating between the two servers in one run, so both see the same machine:

    git worktree add --detach /tmp/today dcb3262
    python benchmarks/ab_latency.py --other /tmp/today --strokes 20
"""
import argparse
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE / "tests"))
sys.path.insert(0, str(HERE / "benchmarks"))
from bench_app import stroke_latencies  # noqa: E402

from browser_helpers import free_port, launch, open_app  # noqa: E402


def server(root):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"no server from {root}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--other", required=True, help="the other checkout's folder")
    p.add_argument("--strokes", type=int, default=20, help="timed strokes per server")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright
    roots = {"this checkout": str(HERE), "other": args.other}
    procs, pages, times = {}, {}, {k: [] for k in roots}
    with sync_playwright() as pw:
        context = launch(pw)
        try:
            for k, root in roots.items():
                procs[k], url = server(root)
                pages[k] = context.new_page()
                open_app(pages[k], url)
                stroke_latencies(pages[k], 2)                       # warm-up, not timed
            for i in range(args.strokes):
                for k in (list(roots) if i % 2 == 0 else list(roots)[::-1]):
                    pages[k].bring_to_front()                       # a hidden page's frames are throttled
                    times[k] += stroke_latencies(pages[k], 1)
        finally:
            context.close()
            for proc in procs.values():
                proc.terminate()
    for k, t in times.items():
        print(f"{k:14} mouse-up -> Prediction: median {statistics.median(t) * 1000:.0f} ms, "
              f"p90 {sorted(t)[int(0.9 * len(t))] * 1000:.0f} ms over {len(t)} strokes")
    print(f"ratio this / other: {statistics.median(times['this checkout']) / statistics.median(times['other']):.2f}")


if __name__ == "__main__":
    main()
