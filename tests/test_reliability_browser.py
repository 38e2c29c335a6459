"""Reliability (issue 6) in a real browser (../shared/browser-testing.md): the form's bounds, two users saving
under one name, a tab closed mid-training, the server killed and restarted, and the quick variant of the load
script benchmarks/load_app.py."""
import contextlib
import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import cnn
from browser_helpers import (
    BROWSER_MARKS,
    CHROMIUM,
    DIGITS,
    MANY_PAGES_ARGS,
    draw,
    open_app,
    prediction,
    start_server,
    stop_server,
)
from helpers import ROOT, SUBSET

pytestmark = BROWSER_MARKS     # skipped without Chromium unless CI is set


@pytest.fixture
def chromium():
    """One headless Chromium; each browser context in it is a separate user (a Streamlit session)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=MANY_PAGES_ARGS)
        yield lambda: browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        browser.close()


@pytest.fixture
def server(weights):
    """`streamlit run app.py` on the private weights folder; -> a function (re)starting it. Stopped at the end."""
    procs = []

    def start():
        proc, url, _ = start_server({"CNN_ORPHAN_SECONDS": "1"})         # env: CNN_WEIGHTS_DIR from `weights`
        procs.append(proc)
        return proc, url
    yield start
    for proc in procs:
        stop_server(proc)


def sidebar_form(page, arch, **numbers):
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("textbox", name="…or type your own").fill(arch)
    for name, value in numbers.items():
        sidebar.get_by_role("spinbutton", name=name).fill(str(value))
    sidebar.get_by_text(SUBSET).click()
    return sidebar


def niced_threads(pid):
    """Threads of the server running at a higher nice value than the server itself: the training threads
    (ui/core/jobs.py lowers their priority by 10, whatever the server's own)."""
    count, server = 0, Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16]
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        with contextlib.suppress(OSError):                                # the thread just ended
            count += int(stat.read_text().rsplit(")", 1)[1].split()[16]) > int(server)
    return count


BROWSER_BOUNDS = [     # (field, value typed, the message the browser shows under the field)
    ("Epochs", 0, "between 1 and 100"), ("Epochs", 101, "between 1 and 100"),
    ("Batch size", 0, "between 1 and 512"), ("Batch size", 513, "between 1 and 512"),
    ("Learning rate", -1, "greater than or equal to 0"),
    ("Seed", -1, "between 0 and 4294967295"), ("Seed", 2**32, "between 0 and 4294967295"),
    ("Training images", 0, "between 1 and 60000"),
]


def test_out_of_range_settings_are_refused_by_the_form_in_the_browser(server, chromium):
    from playwright.sync_api import expect
    url = server()[1]
    page = chromium()
    open_app(page, url)
    sidebar = sidebar_form(page, "c2p", **{"Training images": 300})
    for name, value, message in BROWSER_BOUNDS:
        box = sidebar.get_by_role("spinbutton", name=name)
        good = box.input_value()
        box.fill(str(value))
        sidebar.get_by_role("button", name="Start training").click()
        expect(sidebar.get_by_text(f"Please enter a value {message}")).to_be_visible()
        box.fill(good)
    page.wait_for_timeout(500)
    assert page.get_by_text("Training c2p").count() == 0                # nothing was submitted


def test_two_browser_sessions_train_and_save_under_one_name_then_a_tab_closes_and_the_server_dies(
        server, chromium, weights):
    """Two users train at once and save under one name: one file, complete; the other user is told, saves under
    another name, and both keep drawing. A third user closes the tab mid-training: the run stops by itself.
    Then the server is killed (SIGKILL) and restarted: every saved model is whole and listed, nothing half-written."""
    from playwright.sync_api import expect
    proc, url = server()
    users = [chromium(), chromium()]
    for page in users:
        open_app(page, url)
        sidebar_form(page, "c4p", **{"Epochs": 2, "Training images": 1000, "Batch size": 16})
    for page in users:                                                   # both start, then both train at once
        page.get_by_test_id("stSidebar").get_by_role("button", name="Start training").click()
    for page in users:
        expect(page.get_by_test_id("stSidebar").get_by_text("c4p-1: done")).to_be_visible(timeout=60_000)
    for page in users:                                                   # both save as "shared", back to back
        page.get_by_test_id("stSidebar").get_by_role("textbox", name="Save as").fill("shared")
    for page in users:
        page.get_by_test_id("stSidebar").get_by_role("button", name="Save to weights/").click()
    outcome = []
    for page in users:
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("Saved as weights/shared.npz").or_(sidebar.get_by_text("Not saved"))).to_be_visible()
        outcome.append(sidebar.get_by_text("Saved as weights/shared.npz").count() == 1)
    assert sorted(outcome) == [False, True]
    assert cnn.load_model(weights / "shared.npz").arch == "c4p"
    loser = users[outcome.index(False)].get_by_test_id("stSidebar")
    loser.get_by_role("textbox", name="Save as").fill("shared-b")
    loser.get_by_role("button", name="Save to weights/").click()
    expect(loser.get_by_text("Saved as weights/shared-b.npz")).to_be_visible()
    for page, digit in zip(users, "17", strict=True):                                 # both keep working
        draw(page, DIGITS[digit])
        expect(prediction(page)).to_have_text(re.compile(r"^([0-9]|not sure)$"), timeout=15_000)   # a weak c4p
        assert page.locator('[data-testid="stException"]').count() == 0

    leaver = chromium()                                                  # a user who closes the tab mid-run
    open_app(leaver, url)
    sidebar_form(leaver, "c4p", **{"Epochs": 100, "Training images": 1000, "Batch size": 1})
    leaver.get_by_test_id("stSidebar").get_by_role("button", name="Start training").click()
    expect(leaver.get_by_test_id("stSidebar").get_by_text("Training c4p-1")).to_be_visible(timeout=15_000)
    assert niced_threads(proc.pid) > 0
    leaver.context.close()
    deadline = time.monotonic() + 20                                     # CNN_ORPHAN_SECONDS=1, then one batch
    while niced_threads(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert niced_threads(proc.pid) == 0, "the abandoned run is still training"
    assert urllib.request.urlopen(url + "/_stcore/health", timeout=5).status == 200

    proc.send_signal(signal.SIGKILL)                                     # the server dies without any cleanup
    proc.wait()
    assert not [p.name for p in weights.iterdir() if p.name.endswith(".tmp")]
    assert {p.stem: cnn.load_model(p).arch for p in weights.glob("*.npz")} == \
        {"default": "c8p", "c8p": "c8p", "shared": "c4p", "shared-b": "c4p"}
    _, url = server()                                                    # restarted on the same folder
    page = chromium()
    open_app(page, url)
    page.get_by_test_id("stMain").get_by_role("combobox", name="Model").click()
    options = page.get_by_role("option")
    expect(options).to_have_count(4)
    assert [t.split(" ")[0] for t in options.all_inner_texts()] == ["default", "c8p", "shared", "shared-b"]


def test_load_five_sessions_drawing_at_once(weights):
    """The quick variant of benchmarks/load_app.py (20 sessions there): 5 users drawing 3 digits each, all at once."""
    r = subprocess.run([sys.executable, "benchmarks/load_app.py", "--sessions", "5", "--strokes", "3", "--pause", "0.5",
                        "--ramp", "0.3", "--deadline", "60", "--json"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    figures = json.loads(r.stdout.splitlines()[-1])
    print(figures)
    assert figures["errors"] == [] and figures["opened"] == 5 and figures["n"] == 15
    assert figures["server_alive"]          # the latencies are figures: python benchmarks/load_app.py prints them
