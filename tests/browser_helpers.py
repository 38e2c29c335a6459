"""Driving the app in a real browser (../shared/browser-testing.md): `streamlit run app.py` on 127.0.0.1 and
headless Chromium through Playwright. Used by the browser tests and by benchmarks/bench_app.py and
benchmarks/load_app.py."""
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "screenshots"
CANVAS = ".st-key-canvas canvas.upper-canvas"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}
PROMPT = "Draw a digit"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Many pages at once, each its own window: keep Chromium from throttling the ones it considers in the background.
MANY_PAGES_ARGS = LAUNCH_ARGS + ["--disable-renderer-backgrounding", "--disable-background-timer-throttling",
                                 "--disable-backgrounding-occluded-windows"]

BROWSER_MARKS = [    # a browser test module's pytestmark
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                       reason=f"{CHROMIUM} is missing (install Debian's chromium); required when CI is set"),
]

# Digits as mouse strokes on the 280x280 canvas: lists of (x, y) points, one list per stroke.
_ZERO = [(140 + 55 * math.sin(2 * math.pi * t / 24), 140 - 90 * math.cos(2 * math.pi * t / 24)) for t in range(25)]
DIGITS = {
    "1": [[(140, 40), (140, 240)]],
    "0": [_ZERO],
    "7": [[(75, 50), (205, 50), (115, 240)]],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env=None, root=ROOT):
    """`streamlit run app.py` in `root` on 127.0.0.1; returns (process, url, seconds until the health check
    answered)."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]   # screenshots and other edits must not trigger reruns
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=root, env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while time.perf_counter() - start < 30:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1):
                return proc, url, time.perf_counter() - start
        except OSError:
            time.sleep(0.1)
    stop_server(proc)
    raise RuntimeError("streamlit did not answer its health check within 30 s")


def stop_server(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def launch(playwright):
    return playwright.chromium.launch_persistent_context(
        tempfile.mkdtemp(prefix="chromium-"), executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS,
        viewport={"width": 1400, "height": 1000})


def wait_idle(page):
    page.wait_for_selector(IDLE, timeout=30_000)


def open_app(page, url):
    page.goto(url)
    page.locator(CANVAS).wait_for(timeout=30_000)
    wait_idle(page)        # no hover before the first stroke: a user presses at once (test_browser_first_stroke)


def touch(page, cdp, points, interval_ms=16):
    """One finger stroke through `points` (page coordinates), a point every `interval_ms` as a finger sends them
    (events sent with no time between them lose the stroke's middle in Chromium). `cdp`: ctx.new_cdp_session(page)."""
    def send(kind, pts):
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y} for x, y in pts]})
    send("touchStart", points[:1])
    for point in points[1:]:
        page.wait_for_timeout(interval_ms)
        send("touchMove", [point])
    send("touchEnd", [])


def draw(page, strokes):
    """Each stroke: press at its first point, move through the others, release (sends the drawing)."""
    box = page.locator(CANVAS).bounding_box()
    for stroke in strokes:
        (x0, y0), rest = stroke[0], stroke[1:]
        page.mouse.move(box["x"] + x0, box["y"] + y0)
        page.mouse.down()
        for x, y in rest:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
        page.mouse.up()


def clear(page):
    page.locator(CANVAS).hover()
    page.get_by_role("button", name="Reset canvas & history").click()


def prediction(page):
    return (page.get_by_test_id("stMetric")
            .filter(has=page.get_by_test_id("stMetricLabel").get_by_text("Prediction", exact=True))
            .get_by_test_id("stMetricValue"))


def prompt(page):
    return page.get_by_test_id("stAlert").filter(has_text=PROMPT)


def bars(page):
    """The probabilities of the probability chart's bars (HTML bars carrying data-p), once all ten are drawn."""
    return page.wait_for_function("""() => {
        const bars = [...document.querySelectorAll('.probability-bars [data-p]')];
        return bars.length === 10 ? bars.map(b => Number(b.dataset.p)) : null;
    }""", timeout=10_000).json_value()


def stale_opacity(page):
    """The opacity the page's styles give an element container that Streamlit marks stale (data-stale, and
    the dimmed opacity Streamlit gives it while a slow rerun has not re-sent it yet)."""
    return page.evaluate("""() => {
        const e = document.createElement('div');
        e.className = 'stElementContainer';
        e.dataset.stale = 'true';
        e.style.opacity = '0.33';
        document.body.appendChild(e);
        const opacity = getComputedStyle(e).opacity;
        e.remove();
        return Number(opacity);
    }""")


def exceptions(page):
    return page.locator('[data-testid="stException"]').count()


def screenshot(page, name):
    SHOTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 2000})
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})


def doc_shot(locator, name):
    """A screenshot of one element (a small PNG) for the docs: docs/<name>.png."""
    locator.scroll_into_view_if_needed()
    locator.page.wait_for_timeout(300)
    locator.screenshot(path=str(ROOT / "docs" / f"{name}.png"))


def go_to(page, title):
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    page.get_by_role("heading", level=1).first.wait_for()
    wait_idle(page)


def weights_env(tmp_path_factory):
    """Use weights/ when it holds default.npz (or CNN_WEIGHTS_DIR when set); else a small model made here."""
    folder = Path(os.environ.get("CNN_WEIGHTS_DIR") or ROOT / "weights")
    if (folder / "default.npz").exists():
        return {"CNN_WEIGHTS_DIR": str(folder)}, True
    from helpers import make_weights_dir
    return {"CNN_WEIGHTS_DIR": str(make_weights_dir(tmp_path_factory.mktemp("browser-weights")))}, False


def metric(page, label):
    return (page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel")
                                                   .get_by_text(label, exact=True)).get_by_test_id("stMetricValue"))


def choose(page, label, option):
    """Pick `option` in the selectbox labelled `label`. Scrolled to first: a click that scrolls the page
    opens the list, and the scroll closes it again."""
    combobox = page.get_by_test_id("stSelectbox").filter(has_text=label).get_by_role("combobox")
    combobox.scroll_into_view_if_needed()
    combobox.click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page):
    """axe-core (bundled by axe-playwright-python) run on the page as it is: [(rule id, impact, [targets])]
    for every WCAG 2.0/2.1 A and AA violation. The script is added to every frame, as axe needs."""
    import axe_playwright_python
    script = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
    for frame in page.frames:
        frame.add_script_tag(content=script)
    result = page.evaluate("async tags => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                           AXE_TAGS)
    return [(v["id"], v["impact"], [(n["target"], n["html"][:120], n.get("failureSummary", "")[-90:])
                                     for n in v["nodes"]]) for v in result["violations"]]
