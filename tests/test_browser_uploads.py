"""Streamlit's upload endpoint on a real public server (issue 20): a tab that reads its session id from its own
websocket frames and PUTs files under made-up ids, no widget involved, is refused and the server does not grow;
an honest visitor's photo and weights uploads still work, and a file's name is shown as typed, never as markdown.
The attack as a benchmark, with figures: benchmarks/upload_flood.py."""
import io
import re
from pathlib import Path

import psutil
import pytest
import requests
from PIL import Image, ImageDraw

from browser_helpers import (
    BROWSER_MARKS,
    CHROMIUM,
    LAUNCH_ARGS,
    exceptions,
    open_app,
    start_server,
    stop_server,
    weights_env,
)
from ui.core.text import JOINER

pytestmark = BROWSER_MARKS
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HOSTILE_NAME = "[click](https:evil.example)![x](https:evil.example) www.evil.example me@evil.example <b>b</b> _em_.npz"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    env, _ = weights_env(tmp_path_factory)
    data = tmp_path_factory.mktemp("public-data")
    proc, url, _ = start_server({**env, "CNN_DATA_DIR": str(data), "CNN_PUBLIC": "1"})
    try:
        yield proc, url, Path(env["CNN_WEIGHTS_DIR"])
    finally:
        stop_server(proc)


@pytest.fixture
def pages(app):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield lambda: browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        browser.close()


def rss_mb(proc):
    return psutil.Process(proc.pid).memory_info().rss / 2**20


def put(url, page, session, file_id, data):
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return requests.put(f"{url}/_stcore/upload_file/{session}/{file_id}", cookies=cookies, timeout=120,
                        headers={"X-Xsrftoken": cookies["_streamlit_xsrf"]},
                        files={"file": ("f.bin", data, "application/octet-stream")}).status_code


def test_a_put_flood_with_made_up_ids_is_refused_and_the_server_does_not_grow(app, pages):
    proc, url, _ = app
    page, frames = pages(), []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(
        f if isinstance(f, bytes) else f.encode())))
    open_app(page, url)
    ids = list(dict.fromkeys(m.decode() for f in frames for m in UUID.findall(f)))
    session = next(i for i in ids if put(url, page, i, "probe", b"p") != 400)    # 400: not a session
    before, data = rss_mb(proc), bytes(40 * 2**20)
    statuses = [put(url, page, session, f"made-up-{i}", data) for i in range(8)]   # 320 MB before the bound
    assert statuses == [413] * 8
    assert rss_mb(proc) - before < 150
    assert exceptions(page) == 0


def test_an_honest_visitors_photo_and_weights_uploads_still_work_and_names_are_inert(app, pages, tmp_path):
    from playwright.sync_api import expect
    _, url, weights = app
    page = pages()
    open_app(page, url)
    page.get_by_text("Use a model file").click()
    npz = (weights / "default.npz").read_bytes()
    page.locator('.st-key-upload_model input[type="file"]').set_input_files(
        files=[{"name": HOSTILE_NAME, "mimeType": "application/octet-stream", "buffer": npz}])
    loaded = page.get_by_test_id("stAlert").filter(has_text="Loaded")
    expect(loaded).to_be_visible(timeout=30_000)
    assert HOSTILE_NAME in loaded.inner_text().replace(JOINER, "")              # shown as typed
    assert not loaded.locator("a, img, b, em").count(), loaded.inner_html()
    page.get_by_text("Use a photo of a handwritten digit").click()
    page.get_by_test_id("stButtonGroup").get_by_text("A file", exact=True).click()
    page.locator('.st-key-photo_upload input[type="file"]').set_input_files(
        files=[{"name": "seven.png", "mimeType": "image/png", "buffer": seven_png()}])
    expect(page.get_by_text("Prediction for the photo")).to_be_visible(timeout=30_000)
    assert exceptions(page) == 0


def seven_png():
    image = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(image).line([(80, 60), (220, 60), (130, 250)], fill=0, width=14)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()
