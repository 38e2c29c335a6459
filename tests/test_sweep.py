"""The sweep on Dask: a two-worker LocalCluster on the committed subset gives the same results as the same runs in
one process; an interrupted sweep resumes without repeating a run; a killed worker's task is run again."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import distributed
import pytest

from cnn.studies import study, sweep
from helpers import until

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(study.PROTOCOL, data="subset", n_train=300, n_test=300, epochs=2)
ARCHS = ["c2p", "c4p", "c2pc2p"]


@pytest.fixture(scope="module")
def client():
    with (distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address="127.0.0.1:0")
          as cluster, distributed.Client(cluster) as c):
        yield c


def figures(record):
    """A run's results without its timings (which differ from run to run)."""
    return record["arch"], record["seed"], [{k: v for k, v in e.items() if k != "seconds"} for e in record["history"]]


def test_two_workers_give_the_results_of_one_process(client, tmp_path):
    out = tmp_path / "study.jsonl"
    progress = sweep.run_sweep(client, ARCHS, 2, TINY, out)
    assert (progress.done, progress.failed, progress.total) == (6, 0, 6)
    records, skipped = study.read_results(out)
    assert skipped == 0
    assert sorted(map(figures, records)) == sorted(figures(study.run_one(a, s, TINY)) for a in ARCHS for s in (0, 1))
    assert {r["code_version"] for r in records} == {study.code_version()}
    assert all(r["protocol"] == TINY and r["params"] == study.n_params(r["arch"]) and r["train_cpu_s"] > 0
               for r in records)


def test_a_finished_run_is_never_repeated(client, tmp_path):
    out = tmp_path / "study.jsonl"
    sweep.run_sweep(client, ARCHS[:1], 2, TINY, out)
    first = out.read_text()
    progress = sweep.run_sweep(client, ARCHS[:2], 2, TINY, out)       # two new runs, two finished ones
    assert (progress.done, progress.total) == (4, 4)
    assert out.read_text().startswith(first)                         # the finished lines kept, byte for byte
    assert len(study.read_results(out)[0]) == 4
    other = dict(TINY, epochs=1)                                     # another protocol: other runs
    assert sweep.plan(ARCHS[:1], 2, other, study.read_results(out)[0])[1] == [("c2p", 0), ("c2p", 1)]


def test_a_killed_workers_task_is_run_again(client, tmp_path):
    killed = []

    def kill_a_busy_worker(progress):
        busy = [addr for addr, keys in client.processing().items() if keys]
        if not killed and busy:
            pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    archs = ["c8p", "c8pc8", "c16p", "c4pc4"]
    protocol = dict(TINY, n_train=1000, epochs=3)                    # long enough to be running when one ends
    out = tmp_path / "study.jsonl"
    progress = sweep.run_sweep(client, archs, 1, protocol, out, on_progress=kill_a_busy_worker)
    assert killed
    assert (progress.done, progress.failed) == (4, 0)
    records = study.read_results(out)[0]
    assert sorted(map(figures, records)) == sorted(figures(study.run_one(a, 0, protocol)) for a in archs)
    assert until(lambda: len(client.scheduler_info()["workers"]) == 2, 60)   # the nanny started a new worker


def test_ctrl_c_stops_cleanly_and_the_sweep_resumes(tmp_path):
    out = tmp_path / "study.jsonl"
    command = [sys.executable, "-m", "cnn", "sweep", "--archs", "c2p", "c4p", "c2pc2p", "c4pc4", "--seeds", "2",
               "--data", "subset", "--n-train", "300", "--n-test", "300", "--epochs", "3", "--workers", "2",
               "--out", str(out)]
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert until(lambda: out.exists() or proc.poll() is not None, 120)
        os.killpg(proc.pid, signal.SIGINT)                          # as Ctrl+C: the whole process group
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    before = [json.loads(line) for line in out.read_text().splitlines()]
    assert 1 <= len(before) < 8
    time.sleep(0.5)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    after = [json.loads(line) for line in out.read_text().splitlines()]
    assert after[:len(before)] == before                              # nothing finished was run again
    assert sorted((r["arch"], r["seed"]) for r in after) == sorted((a, s) for a in command[5:9] for s in (0, 1))


def test_sample_stays_within_its_bounds_and_is_seeded():
    archs = study.sample(50, seed=3, max_params=20_000, max_macs=300_000)
    assert len(set(archs)) == 50 and archs == study.sample(50, seed=3, max_params=20_000, max_macs=300_000)
    assert archs != study.sample(50, seed=4, max_params=20_000, max_macs=300_000)
    assert all(study.n_params(a) <= 20_000 and study.macs(a) <= 300_000 for a in archs)


def test_macs_counts_every_multiply_add():
    # c8p: 26x26 outputs x 9 x 8 (convolution), then 13x13x8 x 10 (softmax layer)
    assert study.macs("c8p") == 26 * 26 * 9 * 8 + 13 * 13 * 8 * 10
    assert study.macs("c4pc8d32") == 26 * 26 * 9 * 4 + 11 * 11 * 9 * 4 * 8 + 11 * 11 * 8 * 32 + 32 * 10


def test_unreadable_lines_are_skipped(tmp_path):
    out = tmp_path / "study.jsonl"
    good = study.run_one("c2p", 0, dict(TINY, epochs=1))
    study.write_results([good], out)
    with open(out, "a") as f:
        f.write('{"arch": "c99999"}\nnot json\n{"arch": "c2p", "seed": 1, "protocol": {}, "history": []}\n')
    assert study.read_results(out) == ([good], 3)


def test_bad_command_lines_exit_with_a_message(capsys):
    for argv in (["--archs", "c8x"], ["--seeds", "0", "--archs", "c8p"], []):
        with pytest.raises(SystemExit) as e:
            sweep.main(argv)
        assert e.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_two_sweeps_at_once_on_one_file_keep_every_record(tmp_path):
    out = tmp_path / "study.jsonl"
    def command(archs):
        return [sys.executable, "-m", "cnn", "sweep", "--archs", *archs, "--seeds", "2", "--data", "subset",
                "--n-train", "300", "--n-test", "300", "--epochs", "1", "--workers", "1", "--out", str(out)]
    a, b = ["c2p", "c4p", "c2pc2p"], ["c3p", "c4pc4", "c2c2p"]
    procs = [subprocess.Popen(command(archs), cwd=ROOT, stderr=subprocess.PIPE, text=True) for archs in (a, b)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    records, skipped = study.read_results(out)
    assert skipped == 0
    assert sorted((r["arch"], r["seed"]) for r in records) == sorted((x, s) for x in a + b for s in (0, 1))


def test_a_sweep_that_read_the_file_before_another_wrote_keeps_the_others_records(tmp_path):
    out = tmp_path / "study.jsonl"
    mine, theirs = (study.run_one(arch, 0, dict(TINY, epochs=1)) for arch in ("c2p", "c3p"))
    stale, _ = study.read_results(out)                  # this sweep reads the (empty) file ...
    study.add_results([theirs], out)                    # ... another sweep writes its record ...
    study.add_results([*stale, mine], out)              # ... and this one writes what it holds: both are kept
    study.add_results([mine], out)                      # a run already there is not added twice
    assert [r["arch"] for r in study.read_results(out)[0]] == ["c3p", "c2p"]


def test_each_record_holds_its_cpu_time_and_the_summary_uses_it(tmp_path, capsys):
    out = tmp_path / "elsewhere" / "study.jsonl"       # a results file outside weights/
    records = [study.run_one(arch, seed, dict(TINY, epochs=1)) for arch in ("c2p", "c4p", "c8p") for seed in (0, 1)]
    assert all(0 < r["train_cpu_s"] < r["run_s"] * 2 for r in records)
    study.add_results(records, out)
    protocol = ["--data", "subset", "--n-train", "300", "--n-test", "300", "--epochs", "1", "--out", str(out)]
    sweep.main(["--summary", *protocol])                # --summary alone: no "nothing to run"
    captured = capsys.readouterr()
    assert "3 architectures, 6 runs" in captured.out
    assert "at equal cpu_s" in captured.out and "epoch_s" not in captured.out.split("at equal")[1]
    assert "only 3 architectures for 6 fitted terms" in captured.out    # too few to fit effects: said so
    assert "only 1 of the origin's ten" in captured.out  # ranked against weights/experiment.json wherever the file is
    sweep.main(["--summary", "--archs", "c8p", *protocol, "--reference", str(tmp_path / "none.json")])
    captured = capsys.readouterr()
    assert "1 architectures, 2 runs" in captured.out and "c2p" not in captured.out   # only what was asked for
    assert "no rank check" in captured.err and "No rank check" in captured.out       # said, not silently dropped
    with pytest.raises(SystemExit) as e:
        sweep.main(["--summary", "--out", str(out)])    # another protocol: none of its runs are in the file
    assert e.value.code == 2 and "no runs of this protocol" in capsys.readouterr().err
