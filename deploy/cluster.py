"""Several app processes behind nginx on one machine, sharing one data folder (docs/deployment.md; issue 20).

    python deploy/cluster.py --processes 2 --port 8080 [--data DIR]     # until Ctrl-C

starts `streamlit run app.py` N times on free loopback ports, public mode, with CNN_TRUST_PROXY=1 and one
CNN_DATA_DIR, and nginx in front of them as an ordinary process (no system service, no root): its configuration,
logs and temporary files in a folder of its own, listening on --port. nginx.conf.template beside this file is the
configuration: each browser gets a random cookie, and every request that carries it goes to the same app process
(a consistent hash); websockets are passed through; an app process that stops answering is skipped.
The tests (tests/test_scaleout.py) and the load test (benchmarks/load_app.py --proxy) use Cluster from here.
"""
import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("nginx.conf.template")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url, timeout=1.0):
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=timeout):
            return True
    except OSError:
        return False


class Cluster:
    """N app processes and one nginx; `with Cluster(2) as c:` ... c.url is the proxy, c.apps the processes."""

    def __init__(self, n=2, port=None, data_dir=None, env=None):
        self.n, self.port = n, port or free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="cnn-cluster-"))
        self.data_dir = Path(data_dir or self.folder / "data")
        self.env = {**os.environ, "CNN_PUBLIC": "1", "CNN_TRUST_PROXY": "1", "CNN_DATA_DIR": str(self.data_dir),
                    # one secret for every process: a signed-in visitor's cookie (st.login) is valid on each
                    "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(32), **(env or {})}
        self.apps, self.nginx = [], None           # [(Popen, port)], Popen
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        try:
            for _ in range(self.n):
                self.apps.append(self._start_app())
            self._start_nginx()
            self._wait(self.url, self.nginx)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def _start_app(self):
        port = free_port()
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait(f"http://127.0.0.1:{port}", proc)
        return proc, port

    def _start_nginx(self):
        for sub in ("logs", "tmp"):
            (self.folder / sub).mkdir(exist_ok=True)
        servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=30s;" for _, port in self.apps)
        conf = TEMPLATE.read_text().replace("{{PORT}}", str(self.port)).replace("{{SERVERS}}", servers) \
            .replace("{{FOLDER}}", str(self.folder))
        (self.folder / "nginx.conf").write_text(conf)
        with open(self.folder / "logs" / "stderr", "w") as stderr:      # nginx's own complaints, if it fails
            self.nginx = subprocess.Popen([NGINX, "-p", str(self.folder), "-c", str(self.folder / "nginx.conf"),
                                           "-e", str(self.folder / "logs" / "error.log")],
                                          stdout=subprocess.DEVNULL, stderr=stderr)

    @staticmethod
    def _wait(url, proc, seconds=60):
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[0]} exited with code {proc.returncode}")
            if _healthy(url):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{url} did not answer within {seconds} s")

    def app_of(self, upstream):
        """The index in self.apps of the process at `upstream` ("127.0.0.1:port", as nginx's X-Upstream says)."""
        port = int(upstream.rsplit(",", 1)[-1].strip().rsplit(":", 1)[-1])
        return next(i for i, (_, p) in enumerate(self.apps) if p == port)

    def kill(self, i):
        """End app process i at once (SIGKILL), as a crash would."""
        proc = self.apps[i][0]
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop(self):
        procs = [p for p, _ in self.apps] + [self.nginx] * (self.nginx is not None)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--data", help="the shared data folder (CNN_DATA_DIR); default: a temporary one")
    args = ap.parse_args()
    with Cluster(args.processes, args.port, args.data) as cluster:
        print(f"{cluster.url} -> app processes on ports {[p for _, p in cluster.apps]}; data in {cluster.data_dir}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
