"""Two visitors at once in a real browser, on one server in public mode (CNN_PUBLIC=1): each one's stored drawings,
exports, deletes, fine-tunes, uploads and saved models are theirs only; the drawings quota holds; an anonymous
visitor's data is deleted once their tab has been closed. Helpers and launch flags: tests/browser_helpers.py."""
import io
import re
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from browser_helpers import (
    BROWSER_MARKS,
    CHROMIUM,
    DIGITS,
    LAUNCH_ARGS,
    choose,
    draw,
    exceptions,
    go_to,
    metric,
    open_app,
    prediction,
    start_server,
    stop_server,
    wait_idle,
    weights_env,
)

pytestmark = BROWSER_MARKS     # the browser marker; skipped without Chromium unless CI is set


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    env, _ = weights_env(tmp_path_factory)
    data = tmp_path_factory.mktemp("public-data")
    proc, url, _ = start_server({**env, "CNN_DATA_DIR": str(data), "CNN_PUBLIC": "1", "CNN_MAX_DRAWINGS": "2",
                                 "CNN_CLOSED_TAB_SECONDS": "2", "CNN_SWEEP_SECONDS": "0"})
    try:
        yield url, data, env["CNN_WEIGHTS_DIR"]
    finally:
        stop_server(proc)


@pytest.fixture
def visitors(app):
    """Two visitors on the Draw page at the same time: two browser contexts, each with its own session."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        pages = [browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in range(2)]
        for page in pages:
            open_app(page, app[0])
        yield pages
        browser.close()


def save_drawing(page, digit, label):
    from playwright.sync_api import expect
    if digit is not None:
        draw(page, DIGITS[digit])
        expect(prediction(page)).to_have_text(re.compile(r"^[0-9]$"), timeout=10_000)
        wait_idle(page)
    choose(page, "Wrong? It's a", label)
    page.get_by_role("button", name="Save drawing").click()
    expect(page.get_by_text(re.compile(r"Saved drawing #\d+ as a|Not saved"))).to_be_visible(timeout=10_000)


def exported(page):
    """The labels in the Evaluate page's export of the visitor's drawings."""
    with page.expect_download() as download:
        page.get_by_role("button", name="Export your drawings (.npz)").click()
    with np.load(io.BytesIO(open(download.value.path(), "rb").read())) as npz:
        return npz["y"].tolist()


def model_options(page, text):
    """The model picker's entries that contain `text` (typed into it: the list shows only some entries at once)."""
    wait_idle(page)
    combobox = page.get_by_test_id("stMain").get_by_role("combobox", name="Model")
    combobox.click()
    page.keyboard.type(text)
    page.wait_for_timeout(300)
    names = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return names


def test_two_visitors_at_once_each_see_only_their_own_data(app, visitors):
    from playwright.sync_api import expect
    _, data, weights = app
    alice, bob = visitors
    save_drawing(alice, "7", "7")
    save_drawing(alice, None, "3")                                     # the same drawing, another label
    save_drawing(alice, None, "2")                                     # over alice's quota of 2
    expect(alice.get_by_text(re.compile("as many as this app keeps for a visitor"))).to_be_visible()
    expect(bob.get_by_text("Fine-tune on my")).to_have_count(0)         # bob sees nothing of alice's
    save_drawing(bob, "1", "1")
    expect(bob.get_by_text("Saved drawing #1 as a 1")).to_be_visible()
    expect(alice.get_by_role("button", name="Fine-tune on my 2 drawings")).to_be_visible()

    bob.get_by_role("button", name="Fine-tune on my 1 drawing").click()       # on bob's one drawing only
    expect(bob.get_by_text(re.compile(r"Fine-tuned in \d+\.\d s on your 1 drawing"))).to_be_visible(timeout=60_000)

    go_to(alice, "Evaluate")
    go_to(bob, "Evaluate")
    expect(metric(alice, "Drawings stored")).to_have_text("2", timeout=60_000)
    expect(metric(bob, "Drawings stored")).to_have_text("1", timeout=60_000)
    assert sorted(exported(alice)) == [3, 7] and exported(bob) == [1]
    assert str(data) not in alice.content()                           # no server path shown
    alice.get_by_role("button", name="Delete").first.click()
    expect(metric(alice, "Drawings stored")).to_have_text("1", timeout=30_000)
    go_to(bob, "Draw")
    go_to(bob, "Evaluate")
    expect(metric(bob, "Drawings stored")).to_have_text("1", timeout=60_000)   # alice's delete left bob's alone
    assert exceptions(alice) == exceptions(bob) == 0


def test_uploads_and_saved_models_are_the_visitors_own(app, visitors, tmp_path):
    from playwright.sync_api import expect
    _, data, weights = app
    alice, bob = visitors
    upload = tmp_path / "alices.npz"
    upload.write_bytes((Path(weights) / "default.npz").read_bytes())
    alice.get_by_text("Use a model file").click()
    alice.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(upload))
    expect(alice.get_by_text(re.compile("Loaded alices.npz as"))).to_be_visible(timeout=10_000)
    sidebar = alice.get_by_test_id("stSidebar")
    sidebar.get_by_role("textbox", name="Save as").fill("alices-model")
    sidebar.get_by_role("button", name="Save to my models").click()
    expect(sidebar.get_by_text(re.compile("Saved as alices-model in your models"))).to_be_visible(timeout=10_000)
    assert any(name.startswith("alices-model") for name in model_options(alice, "alices"))
    bob.reload()
    wait_idle(bob)
    assert not any("alices" in name for name in model_options(bob, "alices"))
    expect(bob.get_by_test_id("stSidebar").get_by_text("Your models")).to_have_count(0)
    assert not list(Path(weights).glob("alices*"))       # the shared weights/ is untouched
    assert exceptions(alice) == exceptions(bob) == 0


def test_a_closed_tabs_data_is_deleted_and_an_open_ones_kept(app, visitors):
    from playwright.sync_api import expect
    _, data, _ = app
    alice, bob = visitors
    save_drawing(alice, "7", "7")
    save_drawing(bob, "1", "1")
    alices, bobs = folder_with(data, 7), folder_with(data, 1)
    alice.context.close()                                            # alice leaves
    deadline = time.monotonic() + 30
    while alices.exists() and time.monotonic() < deadline:
        time.sleep(2.5)                                              # past the 2 s grace: bob's next run sweeps
        go_to(bob, "Compare" if "compare" not in bob.url else "Draw")
    assert not alices.exists() and bobs.exists()                     # bob, idle as long, is still here
    go_to(bob, "Evaluate")
    expect(metric(bob, "Drawings stored")).to_have_text("1", timeout=60_000)


def folder_with(data, label):
    """The visitor folder whose drawings are exactly one labelled `label`."""
    for db in (data / "visitors").glob("*/drawings.sqlite3"):
        with sqlite3.connect(db) as conn:
            if conn.execute("SELECT label FROM drawings").fetchall() == [(label,)]:
                return db.parent
    raise AssertionError(f"no visitor folder holds just a {label}")
