"""The app in a real browser (../shared/browser-testing.md): `streamlit run app.py` on 127.0.0.1, driven by
Playwright with Debian's Chromium. Draws digits with the mouse, clears, trains from the sidebar, visits
every page, fails on any exception shown, and saves a screenshot of each page into screenshots/."""
import math
import re
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
PROMPT = "Draw a digit"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
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


# ---------------------------------------------------------------- helpers (also used by tests/bench_app.py)

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env=None):
    """`streamlit run app.py` on 127.0.0.1; returns (process, url, seconds until the health check answered)."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]   # screenshots and other edits must not trigger reruns
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})},
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
    wait_idle(page)
    box = page.locator(CANVAS).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)   # hover before the first stroke
    page.wait_for_timeout(300)


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


def go_to(page, title):
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    page.get_by_role("heading", level=1).first.wait_for()
    wait_idle(page)


# ---------------------------------------------------------------- fixtures

def weights_env(tmp_path_factory):
    """Use weights/ when it holds default.npz (or CNN_WEIGHTS_DIR when set); else a small model made here."""
    folder = Path(os.environ.get("CNN_WEIGHTS_DIR") or ROOT / "weights")
    if (folder / "default.npz").exists():
        return {"CNN_WEIGHTS_DIR": str(folder)}, True
    from conftest import make_weights_dir
    return {"CNN_WEIGHTS_DIR": str(make_weights_dir(tmp_path_factory.mktemp("browser-weights")))}, False


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    env, trained = weights_env(tmp_path_factory)
    env["CNN_DATA_DIR"] = str(tmp_path_factory.mktemp("user-data"))     # never the user's own drawings
    proc, url, _ = start_server(env)
    try:
        yield url, trained
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        context = launch(p)
        yield context
        context.close()


@pytest.fixture
def page(browser):
    page = browser.new_page()           # a new page is a new Streamlit session
    yield page
    page.close()


# ---------------------------------------------------------------- tests

def test_drawn_digits_are_predicted_after_each_stroke_and_clearing_brings_the_prompt_back(app, page):
    from playwright.sync_api import expect
    url, trained = app
    open_app(page, url)
    expect(prompt(page)).to_be_visible()
    assert prediction(page).count() == 0
    for digit, strokes in DIGITS.items():
        draw(page, strokes)
        if trained:     # the shipped default model must read these plain digits right
            expect(prediction(page)).to_have_text(digit, timeout=10_000)
        else:
            expect(prediction(page)).to_have_text(re.compile(r"^[0-9]$"), timeout=10_000)
        wait_idle(page)
        probs = bars(page)
        assert len(probs) == 10 and abs(sum(probs) - 1) < 1e-3
        if digit == "7":
            screenshot(page, "draw")
            assert stale_opacity(page) == 1     # a slow stroke does not fade the Draw page's panel
        clear(page)
        expect(prompt(page)).to_be_visible(timeout=10_000)
        expect(prediction(page)).to_have_count(0)
    assert exceptions(page) == 0


def test_every_page_renders_without_an_exception(app, page):
    from playwright.sync_api import expect
    url, _ = app
    open_app(page, url)
    draw(page, DIGITS["7"])
    expect(prediction(page)).to_be_visible(timeout=10_000)
    for title, heading, name in [("Inside the network", "Inside the network", "inside"),
                                 ("Compare", "Compare configurations", "compare"),
                                 ("Draw", "Draw a digit", "draw-again")]:
        go_to(page, title)
        expect(page.get_by_role("heading", level=1).first).to_have_text(heading)
        page.wait_for_timeout(500)     # let charts draw
        assert exceptions(page) == 0, f"exception shown on {title}"
        if name != "draw-again":
            screenshot(page, name)
            assert stale_opacity(page) == 0.33, title   # elsewhere Streamlit's own fading stays
    go_to(page, "Inside the network")
    page.get_by_text("An MNIST test image").click()
    wait_idle(page)
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 2
    assert exceptions(page) == 0


def start_training(page, arch, epochs, batch_size):
    """Start training `arch` from the sidebar on the committed 1,000 images; returns the sidebar."""
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("textbox", name="…or type your own").fill(arch)
    sidebar.get_by_role("spinbutton", name="Epochs").fill(str(epochs))
    sidebar.get_by_role("spinbutton", name="Batch size").fill(str(batch_size))
    sidebar.get_by_role("spinbutton", name="Training images").fill("1000")
    sidebar.get_by_text("Committed subset (1,000 images)").click()
    sidebar.get_by_role("button", name="Start training").click()
    return sidebar


def test_sidebar_training_shows_progress_and_stop_keeps_the_model(app, page):
    from playwright.sync_api import expect
    url, _ = app
    open_app(page, url)
    sidebar = start_training(page, "c4p", epochs=100, batch_size=1)        # slow enough to stop midway
    expect(sidebar.get_by_text("Training c4p-1")).to_be_visible(timeout=15_000)
    expect(sidebar.get_by_test_id("stProgress")).to_be_visible()
    expect(sidebar.get_by_test_id("stPlotlyChart").first).to_be_visible(timeout=15_000)   # live curves
    screenshot(page, "training")
    clicked = time.perf_counter()
    sidebar.get_by_role("button", name="Stop").click()
    expect(sidebar.get_by_text("c4p-1: stopped")).to_be_visible(timeout=10_000)
    print(f"stop click -> stopped shown: {time.perf_counter() - clicked:.2f} s")
    expect(sidebar.get_by_role("button", name="Download .npz")).to_be_visible()
    # the new model is selected for prediction at once
    expect(page.get_by_test_id("stMain").get_by_role("combobox", name="Model")).to_have_value(re.compile("^c4p-1"))
    draw(page, DIGITS["1"])
    expect(prediction(page)).to_have_text(re.compile(r"^[0-9]$"), timeout=10_000)
    assert exceptions(page) == 0


def test_a_training_run_large_enough_shares_its_batches_with_a_worker_process_that_stop_ends(app, page):
    """100 epochs of 1,000 images are over cnn.training.MIN_PARALLEL_IMAGES: the server starts a worker."""
    from playwright.sync_api import expect
    url, _ = app
    open_app(page, url)
    sidebar = start_training(page, "c8p", epochs=100, batch_size=16)
    expect(sidebar.get_by_text(re.compile(r"Training c8p-\d"))).to_be_visible(timeout=15_000)
    from conftest import until
    assert until(lambda: worker_processes(), 15), "no training worker process started"
    sidebar.get_by_role("button", name="Stop").click()
    expect(sidebar.get_by_text(re.compile(r"c8p-\d+: stopped"))).to_be_visible(timeout=10_000)
    assert until(lambda: not worker_processes(), 10), "the worker process outlived its run"
    assert exceptions(page) == 0


def worker_processes():
    """Pids of the training worker processes (cnn/parallel.py) whose parent is a Streamlit server."""
    def cmdline(pid):
        try:
            return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return ""

    def parent(pid):
        try:
            return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return 0

    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
            and "cnn.parallel import serve" in cmdline(p.name) and "streamlit" in cmdline(parent(p.name))]
