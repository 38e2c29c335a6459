"""The app in a real browser (../shared/browser-testing.md): `streamlit run app.py` on 127.0.0.1, driven by
Playwright with Debian's Chromium. Draws digits with the mouse, clears, trains from the sidebar, visits
every page, fails on any exception shown, and saves a screenshot of each page into screenshots/.
Helpers: tests/browser_helpers.py; the `browser` and `page` fixtures: tests/conftest.py."""
import re
import time
from pathlib import Path

import pytest

from browser_helpers import (
    BROWSER_MARKS,
    DIGITS,
    bars,
    clear,
    doc_shot,
    draw,
    exceptions,
    go_to,
    open_app,
    prediction,
    prompt,
    screenshot,
    stale_opacity,
    wait_idle,
)
from helpers import until

pytestmark = BROWSER_MARKS


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
    # the new model is offered, not switched to: the page keeps its model until "Use it"
    picker = page.get_by_test_id("stMain").get_by_role("combobox", name="Model")
    expect(sidebar.get_by_text("c4p-1 is ready")).to_be_visible()
    expect(picker).not_to_have_value(re.compile("^c4p-1"))
    doc_shot(sidebar.locator(".st-key-offer"), "use_it_offer")
    sidebar.get_by_role("button", name="Use it").click()
    expect(picker).to_have_value(re.compile("^c4p-1"))
    expect(sidebar.get_by_text("c4p-1 is ready")).to_have_count(0)
    draw(page, DIGITS["1"])
    # the stopped model predicts: ten probabilities summing to 1 (what it guesses after a few images may be "not
    # sure", which is right for it: the guess itself depends on how far the run got)
    assert sum(bars(page)) == pytest.approx(1, abs=0.01)
    assert exceptions(page) == 0


def test_a_training_run_large_enough_shares_its_batches_with_a_worker_process_that_stop_ends(app, page):
    """100 epochs of 1,000 images are over cnn.engine.training.MIN_PARALLEL_IMAGES: the server starts a worker."""
    from playwright.sync_api import expect
    url, _ = app
    open_app(page, url)
    sidebar = start_training(page, "c8p", epochs=100, batch_size=16)
    expect(sidebar.get_by_text(re.compile(r"Training c8p-\d"))).to_be_visible(timeout=15_000)
    assert until(lambda: worker_processes(url), 15), "no training worker process started"
    sidebar.get_by_role("button", name="Stop").click()
    expect(sidebar.get_by_text(re.compile(r"c8p-\d+: stopped"))).to_be_visible(timeout=10_000)
    assert until(lambda: not worker_processes(url), 10), "the worker process outlived its run"
    assert exceptions(page) == 0


def worker_processes(url):
    """Pids of the training worker processes (cnn/engine/parallel.py) whose parent is the Streamlit server at `url`
    (not another one on this machine)."""
    port = url.rstrip("/").rsplit(":", 1)[1]
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
            and "cnn.engine.parallel import serve" in cmdline(p.name)
            and f"--server.port {port} " in cmdline(parent(p.name)) + " "]
