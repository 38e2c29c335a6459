"""Benchmark the app in a real browser (not a test; prints the figures of the app issue):

    python benchmarks/bench_app.py [--strokes 10] [--starts 3]

- server start -> first render of the Draw page (canvas shown, script finished), median of --starts;
- mouse-up -> updated Prediction: draw a digit on a cleared canvas, time from releasing the mouse until
  the Prediction metric shows, median of --strokes;
- the server's resident memory (VmRSS) with one model loaded and a prediction made;
- with --while-training, the stroke latency again while another browser session trains c16pc16 on
  10,000 MNIST images in the sidebar (needs MNIST: MNIST_DIR or the cache).
Uses weights/ (or CNN_WEIGHTS_DIR); needs /usr/bin/chromium and the playwright package.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser_helpers import DIGITS, IDLE, clear, draw, launch, open_app, prediction, prompt, start_server, stop_server  # noqa: E402

METRIC_SHOWN = """() => [...document.querySelectorAll('[data-testid="stMetricLabel"]')]
                        .some(e => e.textContent.trim() === 'Prediction')"""


def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def first_render(context):
    """Seconds from launching `streamlit run` to the Draw page drawn and idle in the browser."""
    page = context.new_page()
    start = time.perf_counter()
    proc, url, health = start_server()
    try:
        page.goto(url)
        page.locator(".st-key-canvas canvas.upper-canvas").wait_for(timeout=60_000)
        page.wait_for_selector(IDLE, timeout=60_000)
        return time.perf_counter() - start, health
    finally:
        page.close()
        stop_server(proc)


def latency(page, strokes, timeout=20_000):
    """Clear, draw all strokes but the last, then time the last one's release until the Prediction shows."""
    clear(page)
    prompt(page).wait_for(timeout=timeout)
    page.wait_for_selector(IDLE)
    draw(page, strokes[:-1])
    box = page.locator(".st-key-canvas canvas.upper-canvas").bounding_box()
    (x0, y0), points = strokes[-1][0], strokes[-1][1:]
    page.mouse.move(box["x"] + x0, box["y"] + y0)
    page.mouse.down()
    for x, y in points:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
    start = time.perf_counter()
    page.mouse.up()
    page.wait_for_function(METRIC_SHOWN, polling="raf", timeout=timeout)
    return time.perf_counter() - start


def stroke_latencies(page, n):
    digits = list(DIGITS.values())
    return [latency(page, digits[i % len(digits)], timeout=10_000) for i in range(n)]


def start_training(page):
    """In this page's session: train c16pc16 for 5 epochs on 10,000 MNIST images (about half a minute)."""
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("spinbutton", name="Epochs").fill("5")
    sidebar.get_by_role("spinbutton", name="Training images").fill("10000")
    sidebar.get_by_role("button", name="Start training").click()
    sidebar.get_by_text("Training c16pc16-1").wait_for(timeout=60_000)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--strokes", type=int, default=10)
    p.add_argument("--starts", type=int, default=3)
    p.add_argument("--while-training", action="store_true")
    args = p.parse_args()
    folder = Path(os.environ.get("CNN_WEIGHTS_DIR") or Path(__file__).resolve().parents[1] / "weights")
    if not (folder / "default.npz").exists():
        p.exit(2, f"error: {folder}/default.npz is missing: the Draw page would have no model to time. "
                  "Train one (python -m cnn train --out weights/default.npz) or set CNN_WEIGHTS_DIR.\n")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        context = launch(pw)
        try:
            starts = [first_render(context) for _ in range(args.starts)]
            proc, url, _ = start_server()
            try:
                page = context.new_page()
                open_app(page, url)
                latencies = stroke_latencies(page, args.strokes)
                prediction(page).wait_for()
                memory = rss_mb(proc.pid)
                if args.while_training:
                    trainer = context.new_page()                  # another browser session
                    open_app(trainer, url)
                    start_training(trainer)
                    page.bring_to_front()          # a hidden page's timers and frames are throttled to 1 Hz
                    busy = stroke_latencies(page, args.strokes)
                    still_training = trainer.get_by_text("Training c16pc16-1").count() > 0
                    trainer.close()
            finally:
                stop_server(proc)
        finally:
            context.close()
    render = [s for s, _ in starts]
    print(f"server start -> health check:           median {statistics.median(h for _, h in starts):.2f} s")
    print(f"server start -> Draw page rendered:      median {statistics.median(render):.2f} s "
          f"(runs: {', '.join(f'{s:.2f}' for s in render)})")
    print(f"mouse-up -> Prediction shown:            median {statistics.median(latencies) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms over {len(latencies)} strokes")
    print(f"server memory (VmRSS), one model loaded: {memory:.0f} MB")
    if args.while_training:
        print(f"mouse-up -> Prediction while another session trains: median "
              f"{statistics.median(busy) * 1000:.0f} ms, max {max(busy) * 1000:.0f} ms "
              f"(training {'still running' if still_training else 'ended'} at the end)")


if __name__ == "__main__":
    main()
