"""Load test (not collected by pytest): N browser sessions drawing digits at once against one app server, first
alone and then while hostile clients attack the same server.

    python benchmarks/load_app.py [--sessions 20] [--strokes 5] [--pause 1] [--hostile 2] [--deadline 600] [--json]
                                  [--modes local public proxy] [--proxy]

Starts `streamlit run app.py` on 127.0.0.1 (weights/, or CNN_WEIGHTS_DIR; --url for a server already running),
opens N pages in one headless Chromium, each in its own browser context (N Streamlit sessions), one every
--ramp seconds, and once all are open, every page draws digits at the same time: draw one stroke, time from
releasing the mouse to the Prediction metric showing, look at it for --pause seconds, clear, and again. The time
is taken inside the page (a mouse-up listener and a DOM-mutation observer), so the driver's own scheduling does
not count. Each session draws --strokes digits in the "calm" phase; then --hostile clients (benchmarks/hostile.py)
start uploading hostile weights files and starting the largest training the app allows, and once each has had a
file refused and a run started, every session draws --strokes digits again: the "hostile" phase. Same sessions,
same server, one run: the two phases' latencies compare. Bounded: at most 50 sessions, 50 strokes each, 4 hostile
clients, and a deadline for the whole run.
Reports per phase the median, 90th percentile and maximum latency; the errors (timeouts, exceptions shown by the
app, JavaScript errors, lost connections; for the hostile clients, a file not refused); the server's resident
memory (VmRSS at the end, VmHWM its peak, and the peak of the server and its training workers together, sampled
every second), and the CPU time of the server and of the browser: here they share the machine's cores, as real
users' browsers do not. --modes runs the whole measurement once per mode, one after the other in this run, each on
a server of its own: `local` (the default), `public` (CNN_PUBLIC=1, per-visitor data; docs/public-mode.md), or
`proxy`: --processes public-mode app processes behind nginx sharing one data folder (deploy/cluster.py,
docs/deployment.md), every session through nginx; --proxy is short for --modes public proxy, one process alone
and then the proxy, in one run. In proxy mode the server's memory and CPU are those of every app process and nginx.
Needs /usr/bin/chromium and the playwright package (../shared/browser-testing.md).
"""
import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "tests"), str(Path(__file__).resolve().parents[1])]
import hostile  # noqa: E402

from browser_helpers import CANVAS, CHROMIUM, DIGITS, IDLE, MANY_PAGES_ARGS, PROMPT, start_server, stop_server  # noqa: E402
from deploy.cluster import Cluster  # noqa: E402

MAX_SESSIONS, MAX_STROKES, MAX_HOSTILE = 50, 50, 4
SINGLE_STROKE = [(digit, strokes[0]) for digit, strokes in DIGITS.items() if len(strokes) == 1]
# Armed just before the mouse-up: records when the button is released, and (a DOM-mutation observer) when a
# Prediction metric is first in the page after that, then resolves window.__shown with {ms between the two,
# digit shown}. The driver awaits that promise once instead of polling every page (20 pages polled every
# 50 ms cost this shared machine a few percent of its CPU, charged to the latencies it measures).
ARM = """() => {
    window.__up = null;
    const prediction = () => [...document.querySelectorAll('[data-testid="stMetricLabel"]')]
        .find(e => e.textContent.trim() === 'Prediction');
    addEventListener('mouseup', () => { window.__up = performance.now(); }, {capture: true, once: true});
    window.__shown = new Promise(resolve => {
        const observer = new MutationObserver(() => {
            const label = window.__up !== null && prediction();
            if (!label) return;
            const value = label.closest('[data-testid="stMetric"]').querySelector('[data-testid="stMetricValue"]');
            observer.disconnect();
            resolve({ms: performance.now() - window.__up, digit: value ? value.textContent.trim() : null});
        });
        observer.observe(document.body, {childList: true, subtree: true, characterData: true});
    });
}"""
SHOWN = "() => window.__shown"


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid):
    """Every process below pid (here: Playwright's driver and Chromium's processes, and the server)."""
    parent = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError):
            parent[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier} - found
        found |= frontier
    return found


async def watch_cpu(server_pids, report):
    """Every second: the CPU time of the browser's processes (kept after they end), of the whole machine, and the
    resident memory of the server with its training workers."""
    seen, start = {}, None
    try:
        while True:
            server_tree = set(server_pids).union(*(descendants(pid) for pid in server_pids))
            for pid in descendants(os.getpid()) - server_tree:
                with contextlib.suppress(OSError, ValueError):          # ended since the listing
                    seen[pid] = cpu_seconds(pid)
            report["browser_cpu_s"] = sum(seen.values())
            report["server_tree_peak_mb"] = max(report.get("server_tree_peak_mb", 0), tree_rss_mb(server_tree))
            times = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
            idle, busy = times[3] + times[4], sum(times) - times[3] - times[4]
            start = start or (idle, busy)
            report["machine_busy"] = (busy - start[1]) / max(1, busy - start[1] + idle - start[0])
            await asyncio.sleep(1)
    except asyncio.CancelledError:
        pass


def tree_rss_mb(pids):
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, KeyError, ValueError):    # ended, or not ours to read
            total += memory_mb(pid)[0]
    return total


def memory_mb(pid):
    """(VmRSS, VmHWM) of a process in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return tuple(int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))


async def draw_stroke(page, stroke):
    box = await page.locator(CANVAS).bounding_box()
    (x0, y0), rest = stroke[0], stroke[1:]
    await page.mouse.move(box["x"] + x0, box["y"] + y0)
    await page.mouse.down()
    for x, y in rest:
        await page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
    await page.evaluate(ARM)
    await page.mouse.up()


async def session(browser, url, number, args, report, opened, phases):
    """One user: open the app, then in each phase `strokes` times: clear, draw a digit, time the prediction, look."""
    await asyncio.sleep(number * args.ramp)
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.on("pageerror", lambda e: report["errors"].append(f"session {number}: JavaScript error: {e}"))
    released, pending = False, list(phases)
    try:
        await page.goto(url, timeout=120_000)            # 20 pages loading at once share 2 cores
        await page.locator(CANVAS).wait_for(timeout=120_000)
        await page.wait_for_selector(IDLE, timeout=120_000)
        report["opened"] += 1
        opened.release()
        released = True
        for k, (phase, (start, done)) in enumerate(phases.items()):
            await start.wait()                           # all sessions open (or failed): everybody draws at once
            await asyncio.sleep(random.Random(number).uniform(0, args.pause))     # not all in the same instant
            await strokes(page, number, args, report, phase, first=k == 0)
            pending.remove(phase)
            done.release()
        if await page.locator('[data-testid="stException"]').count():
            report["errors"].append(f"session {number}: the app showed an exception")
        if await page.get_by_text("Connection error").count():
            report["errors"].append(f"session {number}: the page lost its connection to the server")
    except TimeoutError:
        report["errors"].append(f"session {number}: no Prediction within 20 s of releasing the mouse")
    except Exception as e:  # noqa: BLE001 - every failure is an error of the run, reported at the end
        report["errors"].append(f"session {number}: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
    finally:
        if not released:                         # a session that failed does not hold the others
            opened.release()
        for phase in pending:
            phases[phase][1].release()
        await context.close()


async def strokes(page, number, args, report, phase, first):
    for k in range(args.strokes):
        if k or not first:
            await page.wait_for_timeout(args.pause * 1000)
            await page.locator(CANVAS).hover()
            await page.get_by_role("button", name="Reset canvas & history").click()
            await page.get_by_test_id("stAlert").filter(has_text=PROMPT).wait_for(timeout=20_000)
        digit, stroke = SINGLE_STROKE[(number + k) % len(SINGLE_STROKE)]
        await draw_stroke(page, stroke)
        shown = await asyncio.wait_for(page.evaluate(SHOWN), timeout=20)
        report["latencies"][phase].append(shown["ms"] / 1000)
        report["right"] += shown["digit"] == digit


async def run(url, args, server_pids, files):
    from playwright.async_api import async_playwright
    names = ["calm", "hostile"] if args.hostile else ["calm"]
    report = {"sessions": args.sessions, "strokes": args.strokes, "pause_s": args.pause, "ramp_s": args.ramp,
              "hostile_clients": args.hostile, "opened": 0, "latencies": {name: [] for name in names}, "right": 0,
              "errors": [], "hostile": {"arch": args.arch, "uploads": 0, "refused": 0, "runs_started": 0,
                                        "runs_stopped": 0, "queued_seen": 0, "errors": []}}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=MANY_PAGES_ARGS)
        try:
            watcher = asyncio.ensure_future(watch_cpu(server_pids or [-1], report))
            opened = asyncio.Semaphore(0)
            phases = {name: (asyncio.Event(), asyncio.Semaphore(0)) for name in names}
            tasks = [asyncio.ensure_future(session(browser, url, i, args, report, opened, phases))
                     for i in range(args.sessions)]
            started = time.perf_counter()
            if not await gather_all(opened, args.sessions, args.deadline):
                report["errors"].append(f"not every session had opened at the {args.deadline:.0f} s deadline")
            report["open_s"] = time.perf_counter() - started
            for name, (start, done) in phases.items():
                attack = await start_hostile(browser, url, args, files, report) if name == "hostile" else None
                start.set()
                left = max(1.0, args.deadline - (time.perf_counter() - started))
                if not await gather_all(done, args.sessions, left):
                    report["errors"].append(f"the {name} phase had not ended at the {args.deadline:.0f} s deadline")
                if attack:
                    await stop_hostile(*attack)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            watcher.cancel()
        finally:
            await browser.close()
    return report


async def gather_all(semaphore, n, timeout):
    """Acquire `semaphore` n times within `timeout` seconds; whether that happened."""
    async def all_of():
        for _ in range(n):
            await semaphore.acquire()
    try:
        await asyncio.wait_for(all_of(), timeout=timeout)
        return True
    except TimeoutError:
        return False


async def start_hostile(browser, url, args, files, report):
    """Start the hostile clients; return once each has had a file refused and a run started (or after 180 s)."""
    stopping, mine = asyncio.Event(), report["hostile"]
    tasks = [asyncio.ensure_future(hostile.hostile_client(browser, url, i, files, args.arch, stopping, report,
                                                          (CANVAS, IDLE))) for i in range(args.hostile)]
    deadline = time.perf_counter() + 180
    while (mine["refused"] < args.hostile or mine["runs_started"] < args.hostile) and time.perf_counter() < deadline:
        await asyncio.sleep(0.5)
    return stopping, tasks


async def stop_hostile(stopping, tasks):
    stopping.set()
    await asyncio.wait(tasks, timeout=120)


def summary(report):
    """The figures: the calm phase's latencies at the top level (n, median_s, p90_s, max_s), the hostile phase's
    under "with_hostile" with the ratio of the two medians, and the hostile clients' own counts and errors."""
    figures = dict(report, latencies=None, hostile=None)
    for phase, lat in report["latencies"].items():
        lat = sorted(lat)
        part = {"n": len(lat)}
        if lat:
            part.update(median_s=statistics.median(lat), p90_s=lat[min(len(lat) - 1, int(0.9 * len(lat)))],
                        max_s=lat[-1])
        if phase == "calm":
            figures.update(part)
        else:
            figures["with_hostile"] = part
    if figures.get("with_hostile", {}).get("n") and figures["n"]:
        figures["median_ratio"] = figures["with_hostile"]["median_s"] / figures["median_s"]
    if report["hostile_clients"]:
        figures["hostile_report"] = report["hostile"]
    return {k: v for k, v in figures.items() if v is not None}


def latency_line(name, f):
    return (f"{name}: {f['n']} strokes, mouse-up -> Prediction median {f['median_s'] * 1000:.0f} ms, "
            f"p90 {f['p90_s'] * 1000:.0f} ms, max {f['max_s'] * 1000:.0f} ms" if f["n"] else f"{name}: no strokes")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=20, help=f"browser sessions at once (1-{MAX_SESSIONS})")
    p.add_argument("--strokes", type=int, default=5, help=f"digits drawn per session (1-{MAX_STROKES})")
    p.add_argument("--pause", type=float, default=1.0, help="seconds each user looks at a guess before clearing")
    p.add_argument("--ramp", type=float, default=0.5, help="seconds between one session opening and the next")
    p.add_argument("--deadline", type=float, default=300, help="seconds for the whole run, server start excluded")
    p.add_argument("--hostile", type=int, default=0, help=f"hostile clients in a second phase (0-{MAX_HOSTILE})")
    p.add_argument("--arch", help="the hostile clients' network (default: the costliest the grammar allows)")
    p.add_argument("--url", help="use a server already running there instead of starting one")
    p.add_argument("--pid", type=int, help="with --url: the server's process id, for its memory and CPU figures")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object (one per mode)")
    p.add_argument("--modes", nargs="+", choices=["local", "public", "proxy"], default=["local"],
                   help="run the measurement for each mode in turn, each on a server of its own")
    p.add_argument("--proxy", action="store_true", help="short for --modes public proxy")
    p.add_argument("--processes", type=int, default=2, help="app processes behind nginx in proxy mode (2-4)")
    args = p.parse_args(argv)
    if args.proxy:
        args.modes = ["public", "proxy"]
    if not (1 <= args.sessions <= MAX_SESSIONS and 1 <= args.strokes <= MAX_STROKES and 0 < args.deadline <= 1800
            and 0 <= args.hostile <= MAX_HOSTILE and 2 <= args.processes <= 4):
        p.exit(2, f"error: sessions 1-{MAX_SESSIONS}, strokes 1-{MAX_STROKES}, hostile 0-{MAX_HOSTILE}, deadline up "
                  "to 1800 s\n")
    folder = Path(os.environ.get("CNN_WEIGHTS_DIR") or Path(__file__).resolve().parents[1] / "weights")
    if not (folder / "default.npz").exists():
        p.exit(2, f"error: {folder}/default.npz is missing: the Draw page would have no model to time.\n")
    args.arch = args.arch or hostile.largest_arch()
    files = hostile.hostile_files((folder / "default.npz").read_bytes()) if args.hostile else []
    if args.url and (args.modes != ["local"] or args.proxy):
        p.exit(2, "error: --modes starts its own servers; leave out --url\n")
    return [measure(args, files, mode) for mode in args.modes]


def measure(args, files, mode):
    """Start a server in `mode` (unless --url), run the sessions, print and return the figures."""
    started = time.perf_counter()
    proc, cluster, data = None, None, os.environ.get("CNN_DATA_DIR") or tempfile.mkdtemp()
    if args.url:                                       # a server started elsewhere (its PID for the figures)
        url, pids = args.url.rstrip("/"), [args.pid] if args.pid else []
    elif mode == "proxy":
        cluster = Cluster(args.processes, data_dir=data).__enter__()
        url, pids = cluster.url, [p.pid for p, _ in cluster.apps] + [cluster.nginx.pid]
    else:
        proc, url, _ = start_server({"CNN_DATA_DIR": data, "CNN_PUBLIC": "1" if mode == "public" else ""})
        pids = [proc.pid]
    try:
        server_cpu = sum(map(cpu_seconds, pids))
        report = asyncio.run(run(url, args, pids, files))
        if pids:
            report["server_cpu_s"] = sum(map(cpu_seconds, pids)) - server_cpu
            report["server_rss_mb"], report["server_peak_rss_mb"] = map(sum, zip(*map(memory_mb, pids), strict=True))
        report["server_alive"] = all(p.poll() is None for p in ([proc] if proc else [])
                                     + ([p for p, _ in cluster.apps] if cluster else []))
    finally:
        if proc:
            stop_server(proc)
        if cluster:
            cluster.stop()
    report["wall_s"] = time.perf_counter() - started
    figures = dict(summary(report), mode=mode)
    if args.json:
        print(json.dumps(figures))
        return figures
    print(f"{mode} mode: {figures['opened']}/{args.sessions} sessions opened in {figures['wall_s']:.0f} s; "
          f"{figures['right']} of the strokes predicted as the digit drawn")
    print(latency_line("alone", figures))
    if "with_hostile" in figures:
        h = figures["hostile_report"]
        print(latency_line(f"with {args.hostile} hostile clients", figures["with_hostile"])
              + (f"; median {figures['median_ratio']:.2f}x" if "median_ratio" in figures else ""))
        print(f"hostile clients ({h['arch']}, batch 512): {h['uploads']} uploads, {h['refused']} refused; "
              f"{h['runs_started']} runs started, {h['runs_stopped']} stopped, the queue seen {h['queued_seen']} "
              "times; "
              f"errors: {len(h['errors'])}" + "".join(f"\n  - {e}" for e in h["errors"]))
    if "server_rss_mb" in figures:
        print(f"server memory: {figures['server_rss_mb']:.0f} MB resident at the end, "
              f"{figures['server_peak_rss_mb']:.0f} MB at the peak; with its training workers "
              f"{figures.get('server_tree_peak_mb', 0):.0f} MB at the peak (sampled every second)")
        print(f"CPU time: server {figures['server_cpu_s']:.0f} s, browser {figures['browser_cpu_s']:.0f} s; "
              f"all {os.cpu_count()} cores {figures.get('machine_busy', 0):.0%} busy during the run")
    print(f"server alive at the end: {'yes' if figures['server_alive'] else 'NO'}")
    print(f"errors: {len(figures['errors'])}" + "".join(f"\n  - {e}" for e in figures["errors"]))
    return figures


if __name__ == "__main__":
    main()
