"""Cores from the CPU affinity and the cgroup's CPU quota (cnn.engine.parallel.available_cores), with fake cgroup
files: v2's cpu.max, v1's cpu.cfs_quota_us / cpu.cfs_period_us, a quota on an ancestor, none at all."""
import os

import pytest

from cnn.engine.parallel import available_cores

AFFINITY = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def fake(tmp_path, files, cgroup="0::/\n"):
    for name, text in files.items():
        path = tmp_path / "cg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "self").write_text(cgroup)
    return available_cores(tmp_path / "cg", tmp_path / "self")


@pytest.mark.parametrize(("files", "cgroup", "expected"), [
    ({"cpu.max": "max 100000\n"}, "0::/\n", AFFINITY),                                  # v2, no limit
    ({"cpu.max": "100000 100000\n"}, "0::/\n", 1),                                     # v2, one core
    ({"cpu.max": "7800 100000\n"}, "0::/\n", 1),                                       # 0.078 of a core: at least 1
    ({"cpu.max": "max 100000\n", "app/web/cpu.max": "150000 100000\n"}, "0::/app/web\n", 1),   # its own cgroup
    ({"app/cpu.max": "100000 100000\n", "app/web/cpu.max": "max 100000\n"}, "0::/app/web\n", 1),  # an ancestor's
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, "1:cpu:/\n", AFFINITY),  # v1, no limit
    ({"cpu,cpuacct/docker/x/cpu.cfs_quota_us": "50000\n", "cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000\n"},
     "4:cpu,cpuacct:/docker/x\n", 1),                                                   # v1, half a core
    ({}, "", AFFINITY),                                                                 # no cgroup files at all
    ({"cpu.max": "garbage\n"}, "0::/\n", AFFINITY),                                     # unreadable: ignored
])
def test_cores_are_the_affinity_within_the_cgroup_quota(tmp_path, files, cgroup, expected):
    assert fake(tmp_path, files, cgroup) == expected


def test_a_quota_above_one_core_counts_whole_cores(tmp_path):
    if AFFINITY < 2:
        pytest.skip("needs 2 cores in the affinity")
    assert fake(tmp_path, {"cpu.max": "250000 100000\n"}) == min(AFFINITY, 2)
    assert fake(tmp_path, {"cpu.max": "199999 100000\n"}) == 1


def test_the_slots_and_workers_use_it():
    from cnn.engine import parallel
    from ui.core import admission
    assert min(available_cores(), 4) == parallel.CORES
    assert admission._cores() == available_cores()
