"""Hostile clients for the load test (benchmarks/load_app.py; issue 12): browser sessions that keep uploading
hostile weights files and starting the largest training the app allows. Built here, never committed:

- a valid weights file with one more member, junk.npy: 256 MiB of zeros compressed with bzip2 (a few dozen KB);
- a weights file whose first array declares a 4 TiB shape in its .npy header;
- weights files with malformed metadata: a history of [1], a test accuracy of "x", 100,000-deep nesting.
"""
import asyncio
import io
import json
import time
import zipfile

import numpy as np

import cnn

# The costliest networks first: the first one the grammar accepts is "the largest allowed training". c256 is the
# costliest under the compute budget (cnn/engine/arch.py) for a stroke (benchmarks/stroke_budget.py) and among the
# costliest to train, with the most parameters; the others were allowed before the budget.
CANDIDATES = ["c256pc256pc256", "c64c64", "c256"]
CHURN_SECONDS = 20      # a hostile run is stopped after this long, and the next one started


def largest_arch():
    for arch in CANDIDATES:
        try:
            cnn.parse_arch(arch)
            return arch
        except cnn.ArchError:
            continue
    raise RuntimeError("none of the candidate networks is allowed")


def _replace(valid, members):
    """The zip `valid` with some members replaced or added: {name: bytes, or (bytes, compression)}."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(valid)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename not in members:
                dst.writestr(info.filename, src.read(info))
        for name, data in members.items():
            data, compression = data if isinstance(data, tuple) else (data, zipfile.ZIP_DEFLATED)
            dst.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return out.getvalue()


def _npy_header(dtype, shape):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def bzip2_bomb(valid):
    """`valid` plus junk.npy: 256 MiB of zeros, bzip2-compressed, written 1 MiB at a time."""
    out = io.BytesIO(valid)
    with zipfile.ZipFile(out, "a") as zf:
        info = zipfile.ZipInfo("junk.npy")
        info.compress_type = zipfile.ZIP_BZIP2
        with zf.open(info, "w", force_zip64=True) as f:
            f.write(_npy_header("<f4", (64 * 2**20,)))
            zeros = bytes(2**20)
            for _ in range(256):
                f.write(zeros)
    return out.getvalue()


def huge_shape(valid):
    """The first weight array declares (2**40,) float32, 4 TiB, and holds 16 bytes."""
    return _replace(valid, {"0.W.npy": _npy_header("<f4", (2**40,)) + bytes(16)})


def bad_metadata(valid, how):
    meta = json.loads(str(np.load(io.BytesIO(valid))["meta"]))
    if how == "deep":
        text = json.dumps(dict(meta, history=None)).replace("null", "[" * 100_000 + "]" * 100_000)
    else:
        text = json.dumps(dict(meta, history=[1]) if how == "history" else
                          dict(meta, history=[dict(meta["history"][0], test_acc="x")]))
    buf = io.BytesIO()
    np.save(buf, np.array(text))
    return _replace(valid, {"meta.npy": buf.getvalue()})


def hostile_files(valid):
    """[(kind, bytes)]: the hostile uploads, made from a valid weights file's bytes."""
    return [("bzip2-bomb", bzip2_bomb(valid)), ("4-TiB-shape", huge_shape(valid)),
            ("history-1", bad_metadata(valid, "history")), ("test-acc-x", bad_metadata(valid, "test_acc")),
            ("deep-nesting", bad_metadata(valid, "deep"))]


async def hostile_client(browser, url, number, files, arch, stopping, report, selectors):
    """Until `stopping` is set: upload the next hostile file and wait for the app to refuse it; keep a training
    run of `arch` (batch 512, 100 epochs of MNIST) going or queued, stopping it after CHURN_SECONDS to start
    another. Findings go into report["hostile"]: counts, and errors (an upload not refused, an exception)."""
    canvas, idle = selectors
    mine = report["hostile"]
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    try:
        await page.goto(url, timeout=120_000)
        await page.locator(canvas).wait_for(timeout=120_000)
        await page.wait_for_selector(idle, timeout=120_000)
        sidebar = page.get_by_test_id("stSidebar")
        await sidebar.get_by_role("textbox", name="…or type your own").fill(arch)
        for name, value in {"Epochs": 100, "Batch size": 512, "Training images": 60000}.items():
            await sidebar.get_by_role("spinbutton", name=name).fill(str(value))
        await page.get_by_text("Use a model file").click()
        i, started = 0, None
        while not stopping.is_set():
            kind, data = files[(number + i) % len(files)]
            i += 1
            await _upload(page, f"hostile-{number}-{i}-{kind}.npz", data, mine)
            started = await _keep_training(page, sidebar, started, mine)
        await _stop_training(sidebar)
    except Exception as e:  # noqa: BLE001 - reported at the end
        mine["errors"].append(f"hostile client {number}: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
    finally:
        await context.close()


async def _upload(page, name, data, mine):
    await page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}])
    mine["uploads"] += 1
    refusal = page.get_by_test_id("stAlert").filter(has_text="Not loaded").filter(has_text=name)
    try:
        await refusal.wait_for(timeout=60_000)
        mine["refused"] += 1
    except Exception:  # noqa: BLE001 - a timeout: the file was not refused (or not in time)
        mine["errors"].append(f"{name}: no refusal within 60 s")
    if await page.locator('[data-testid="stException"]').count():
        mine["errors"].append(f"{name}: the app showed an exception")


async def _keep_training(page, sidebar, started, mine):
    """Start a run when none is running or queued; stop one that has run CHURN_SECONDS. -> its start time."""
    start = sidebar.get_by_role("button", name="Start training")
    if await start.is_enabled():
        await start.click()
        mine["runs_started"] += 1
        return time.monotonic()
    if await sidebar.get_by_text("in the queue").count():
        mine["queued_seen"] += 1
    elif started is not None and time.monotonic() - started > CHURN_SECONDS:
        await _stop_training(sidebar)
        mine["runs_stopped"] += 1
        return None
    await asyncio.sleep(0.5)
    return started


async def _stop_training(sidebar):
    for label in ("Stop", "Leave the queue"):
        button = sidebar.get_by_role("button", name=label)
        if await button.count() and await button.is_enabled():
            await button.click()
