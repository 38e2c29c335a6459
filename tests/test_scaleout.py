"""Scale out, for real (issue 20): two app processes behind nginx (deploy/cluster.py, deploy/nginx.conf.template)
sharing one data folder, in public mode. Two visitors on different processes stay isolated; an app process's
expiry leaves another process's open tabs alone and two processes sweeping at once delete each expired folder once
and nothing else; one process killed mid-session: its visitor's tab reconnects through the proxy to the other,
finds its stored drawings intact, and its quota still holds there. (The training slots shared by processes:
tests/test_fair_queue.py.)"""
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time

import pytest
from test_browser_isolation import save_drawing

from browser_helpers import BROWSER_MARKS, CHROMIUM, LAUNCH_ARGS, exceptions, go_to, metric, open_app, weights_env
from deploy.cluster import NGINX, Cluster
from helpers import ROOT

NGINX_MARK = pytest.mark.skipif(not shutil.which("nginx") and not os.path.exists(NGINX) and not os.environ.get("CI"),
                                reason="nginx is missing (apt-get install nginx); required when CI is set")
SWEEP = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from ui.state import expiry
    while not Path(sys.argv[1]).exists():          # both processes start their sweep together
        time.sleep(0.001)
    print(json.dumps(expiry.sweep(force=True)))
""")


def test_two_processes_sweeping_at_once_delete_each_expired_folder_once(tmp_path):
    visitors, go = tmp_path / "visitors", tmp_path / "go"
    old = time.time() - 48 * 3600
    expired = [f"s-{i:032x}" for i in range(40)]
    fresh = [f"s-{i:032x}" for i in range(100, 105)] + ["u-" + "a" * 32]
    for name in expired + fresh:
        (visitors / name).mkdir(parents=True)
        (visitors / name / "drawings.sqlite3").write_bytes(b"x" * 1000)
        (visitors / name / ".seen").touch()
        if name in expired:
            os.utime(visitors / name / ".seen", (old, old))
    env = {**os.environ, "CNN_DATA_DIR": str(tmp_path), "CNN_PUBLIC": "1"}
    sweepers = [subprocess.Popen([sys.executable, "-c", SWEEP, str(go)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 text=True) for _ in range(2)]
    time.sleep(1.0)                                 # both have imported the app's modules and are waiting
    go.touch()
    deleted = [json.loads(p.communicate(timeout=60)[0]) for p in sweepers]
    assert sorted(deleted[0] + deleted[1]) == expired                         # each once, by one or the other
    assert sorted(p.name for p in visitors.iterdir()) == sorted(fresh)        # nothing else, no leftovers


def browser_and_nginx(test):
    for mark in [*BROWSER_MARKS, NGINX_MARK]:
        test = mark(test)
    return test


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    env, _ = weights_env(tmp_path_factory)
    with Cluster(2, env={**env, "CNN_MAX_DRAWINGS": "1", "CNN_CLOSED_TAB_SECONDS": "2",
                         "CNN_SWEEP_SECONDS": "0"}) as running:
        yield running


def visitor_on(browser, cluster, index, tries=16):
    """A visitor (a browser context, its own cookie) whose requests nginx sends to app process `index`."""
    for _ in range(tries):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        if cluster.app_of(page.goto(cluster.url).headers["x-upstream"]) == index:
            open_app(page, cluster.url)
            return page
        context.close()
    raise AssertionError(f"no new visitor was sent to app process {index} in {tries} tries")


@browser_and_nginx
def test_two_processes_behind_nginx_isolate_visitors_and_survive_one_crashing(cluster):
    from playwright.sync_api import expect, sync_playwright
    folders = cluster.data_dir / "visitors"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        alice, bob = visitor_on(browser, cluster, 0), visitor_on(browser, cluster, 1)
        save_drawing(alice, "7", "7")
        expect(alice.get_by_text("Saved drawing #1 as a 7")).to_be_visible()
        expect(bob.get_by_text("Fine-tune on my")).to_have_count(0)          # bob sees nothing of alice's
        save_drawing(bob, "1", "1")
        expect(bob.get_by_text("Saved drawing #1 as a 1")).to_be_visible()
        assert len(list(folders.iterdir())) == 2

        time.sleep(2.5)                        # past the closed-tab grace: process 1 sweeps on bob's next runs,
        go_to(bob, "Compare")                  # and must leave alice's folder alone (her tab is open on process 0)
        go_to(bob, "Draw")
        assert len(list(folders.iterdir())) == 2

        cluster.kill(0)                                                     # alice's process crashes
        go_to(alice, "Evaluate")               # her tab reconnects through nginx to process 1
        expect(metric(alice, "Drawings stored")).to_have_text("1", timeout=60_000)
        assert len(list(folders.iterdir())) == 2
        go_to(alice, "Draw")
        open_app(alice, cluster.url)
        save_drawing(alice, "1", "1")                                        # over her quota of 1, on process 1
        expect(alice.get_by_text(re.compile("as many as this app keeps for a visitor"))).to_be_visible()
        go_to(bob, "Evaluate")
        expect(metric(bob, "Drawings stored")).to_have_text("1", timeout=60_000)
        assert exceptions(alice) == exceptions(bob) == 0
        browser.close()
