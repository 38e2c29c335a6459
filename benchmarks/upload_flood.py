"""The upload flood (issue 20): one tab reads its session id from its own websocket frames and PUTs files to
/_stcore/upload_file/<session>/<made-up id>, no widget involved. Prints each PUT's status, the server's memory
(RSS) before and after, and whether an honest visitor's weights upload still works afterwards.

    python benchmarks/upload_flood.py --files 30 --mb 49 [--root DIR] [--concurrent 4]

--root runs the app from another checkout (e.g. `git archive dcb3262 | tar -x -C /tmp/before` for the code
before the bound). The server runs in public mode with a temporary data folder.
"""
import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))
from tests.browser_helpers import CANVAS, CHROMIUM, IDLE, LAUNCH_ARGS, stop_server  # noqa: E402

UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def start(root, env):
    """A public server from `root`; -> (process, url)."""
    import socket
    import subprocess
    import urllib.request
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false"], cwd=root, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.1)
    stop_server(proc)
    raise RuntimeError("the server did not start")


def rss_mb(proc):
    return psutil.Process(proc.pid).memory_info().rss / 2**20


async def session_id(page, frames, url):
    """The tab's session id: the first uuid in its websocket frames that the upload endpoint accepts as one."""
    request, xsrf = page.context.request, await xsrf_token(page)
    for candidate in dict.fromkeys(m.decode() for f in frames for m in UUID.findall(f)):
        r = await request.put(f"{url}/_stcore/upload_file/{candidate}/probe", headers={"X-Xsrftoken": xsrf},
                              multipart={"file": {"name": "p", "mimeType": "text/plain", "buffer": b"p"}})
        if r.status != 400:
            return candidate
    raise RuntimeError("no session id found in the websocket frames")


async def xsrf_token(page):
    return next(c["value"] for c in await page.context.cookies() if c["name"] == "_streamlit_xsrf")


async def flood(page, url, sid, n_files, mb, concurrent):
    """PUT n_files files of mb MB with made-up ids, `concurrent` at a time (plain HTTP, the tab's cookies)."""
    import requests
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    data = os.urandom(mb * 2**20)

    def put(i):
        return requests.put(f"{url}/_stcore/upload_file/{sid}/made-up-{i}", cookies=cookies, timeout=300,
                            headers={"X-Xsrftoken": cookies["_streamlit_xsrf"]},
                            files={"file": (f"f{i}.bin", data, "application/octet-stream")}).status_code
    with ThreadPoolExecutor(concurrent) as pool:
        return await asyncio.get_running_loop().run_in_executor(None, lambda: list(pool.map(put, range(n_files))))


async def honest_upload(browser, url, weights):
    """A second visitor uploads a shipped weights file through the uploader: -> was it loaded?"""
    page = await (await browser.new_context(viewport={"width": 1400, "height": 1000})).new_page()
    await page.goto(url)
    await page.locator(CANVAS).wait_for(timeout=120_000)
    await page.wait_for_selector(IDLE, timeout=120_000)
    await page.get_by_text("Use a model file").click()
    await page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(weights))
    try:
        await page.get_by_text(re.compile(r"Loaded \S+ as")).wait_for(timeout=60_000)
        return True
    except Exception:  # noqa: BLE001 - not loaded in time
        return False


async def main(args):
    from playwright.async_api import async_playwright
    data = tempfile.mkdtemp(prefix="cnn-flood-")
    proc, url = start(args.root, {"CNN_PUBLIC": "1", "CNN_DATA_DIR": data})
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            page = await (await browser.new_context()).new_page()
            frames = []
            page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(
                f if isinstance(f, bytes) else f.encode())))
            await page.goto(url)
            await page.locator(CANVAS).wait_for(timeout=120_000)
            await page.wait_for_selector(IDLE, timeout=120_000)
            sid = await session_id(page, frames, url)
            before, start_t, peak, done = rss_mb(proc), time.perf_counter(), [0.0], threading.Event()

            def sample():                                 # the server's peak memory during the flood
                while not done.wait(0.05):
                    peak[0] = max(peak[0], rss_mb(proc))
            sampler = threading.Thread(target=sample)
            sampler.start()
            statuses = await flood(page, url, sid, args.files, args.mb, args.concurrent)
            done.set()
            sampler.join()
            seconds = time.perf_counter() - start_t
            await asyncio.sleep(2)
            after = rss_mb(proc)
            honest = await honest_upload(browser, url, Path(args.root) / "weights" / "default.npz")
            await browser.close()
        result = {"files": args.files, "mb": args.mb, "concurrent": args.concurrent, "seconds": round(seconds, 1),
                  "statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
                  "rss_before_mb": round(before), "rss_peak_mb": round(peak[0]),
                  "rss_after_mb": round(after), "grew_mb": round(after - before),
                  "rss_after_honest_mb": round(rss_mb(proc)), "honest_upload_loaded": honest}
        print(json.dumps(result))
    finally:
        stop_server(proc)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=30)
    parser.add_argument("--mb", type=int, default=49)
    parser.add_argument("--concurrent", type=int, default=1)
    parser.add_argument("--root", default=str(HERE))
    asyncio.run(main(parser.parse_args()))
