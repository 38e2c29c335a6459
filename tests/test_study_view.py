"""The study view of the Compare page and its charts, on a small real study (tiny networks on the committed subset)."""
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cnn.studies import findings, study
from ui.charts import study as study_charts
from ui.state import session

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PROTOCOL = dict(study.PROTOCOL, data="subset", n_train=200, n_test=200, epochs=2)
ARCHS = ["c2p", "c4p", "c2pc2p", "c8p", "c4c4p"]


@pytest.fixture(scope="module")
def records():
    return [study.run_one(arch, seed, PROTOCOL) for arch in ARCHS for seed in (0, 1)]


@pytest.fixture
def study_env(app_env, tmp_path, monkeypatch, records):
    folder = tmp_path / "weights"
    folder.mkdir()
    for name in ("default.npz", "experiment.json"):
        (folder / name).write_bytes((app_env / name).read_bytes())
    study.write_results(records, folder / "study.jsonl")
    monkeypatch.setenv("CNN_WEIGHTS_DIR", str(folder))
    return folder


def test_pareto_front_keeps_only_undominated_points():
    cost, acc = [1, 2, 3, 4, 4], [0.5, 0.7, 0.6, 0.8, 0.7]
    assert findings.pareto(cost, acc).tolist() == [True, True, False, True, False]


def test_summary_has_one_row_per_architecture_with_the_seed_spread(records):
    key = study.protocol_key(PROTOCOL)
    assert study_charts.protocols(records) == {key: len(records)}
    table = study_charts.summary(records, key)
    assert sorted(table["arch"]) == sorted(ARCHS) and set(table["seeds"]) == {2}
    row = table.set_index("arch").loc["c8p"]
    accs = [r["final"]["test_acc"] for r in records if r["arch"] == "c8p"]
    assert row["acc"] == pytest.approx(np.mean(accs)) and row["lo"] == min(accs) and row["hi"] == max(accs)
    assert bool(row["origin"]) and (row["depth"], row["pools"], row["width"]) == (1, 1, 8)
    assert table["front_params"].any() and table["front_epoch_s"].any()


def test_tradeoff_figure_marks_the_front_and_the_origins_ten(records):
    table = study_charts.summary(records, study.protocol_key(PROTOCOL))
    fig = study_charts.tradeoff_figure(table, "params")
    front = next(t for t in fig.data if t.name == "Pareto front")
    assert len(front.x) == table["front_params"].sum()
    assert {t.customdata[0][0] for t in fig.data if t.customdata is not None} <= set(ARCHS)
    labels = [t for t in fig.data if t.mode == "text"]
    assert list(labels[0].text) == ["c8p"]                            # the only one of the origin's ten here
    assert fig.layout.xaxis.type == "log"


def row(params, acc, depth=1, pools=1, width=8, dense=0):
    return {"arch": f"a{params}", "params": params, "acc": acc, "depth": depth, "pools": pools, "width": width,
            "dense": dense}


def test_the_knee_is_the_front_point_farthest_above_the_line_from_cheapest_to_best():
    rows = [row(100, 0.50), row(1_000, 0.90), row(10_000, 0.92), row(100_000, 0.93), row(5_000, 0.80)]
    for r, on in zip(rows, findings.pareto([r["params"] for r in rows], [r["acc"] for r in rows]), strict=True):
        r["front_params"] = bool(on)
    assert [r["front_params"] for r in rows] == [True, True, True, True, False]
    assert findings.knee(rows, "params")["params"] == 1_000
    assert findings.knee(rows[:2], "params") is None                  # fewer than 3 points on the front


def test_effects_recover_known_coefficients_and_warn_with_few_architectures():
    rng = np.random.default_rng(0)
    columns = (rng.integers(1_000, 100_000, 40), rng.integers(1, 5, 40), rng.integers(0, 3, 40),
               rng.choice([4, 8, 16, 32], 40), rng.integers(0, 2, 40))
    rows = [row(int(p), 0.0, d, pl, int(w), de) for p, d, pl, w, de in zip(*columns, strict=True)]
    for r in rows:                                       # points = 40 + 1.5 log2 params - 2 convs - 9 pools + 4 log2 w
        r["acc"] = (40 + 1.5 * np.log2(r["params"]) - 2 * r["depth"] - 9 * r["pools"] + 4 * np.log2(r["width"])) / 100
    coefs, r2 = findings.effects(rows, "params")
    expected = {"log2 params": 1.5, "convolutions": -2, "poolings": -9, "log2 width": 4, "dense layers": 0}
    assert coefs == pytest.approx(expected, abs=1e-6) and r2 == pytest.approx(1)
    assert findings.effects_warning(rows) is None
    for r in rows:
        r["acc"] += rng.normal(0, 0.05)                  # noise the terms cannot explain
    assert findings.effects(rows, "params")[1] < 0.9
    assert "only 5 architectures" in findings.effects_warning(rows[:5])    # R² near 1 from 5 points means nothing


def test_knee_and_effects_of_a_real_small_study(records):
    rows = findings.summarise(records, study.protocol_key(PROTOCOL))
    knee = findings.knee(rows, "params")
    front = [r["arch"] for r in rows if r["front_params"]]
    assert (knee is None) == (len(front) < 3) and (knee is None or knee["arch"] in front)
    assert all(r["cpu_s"] > 0 for r in rows) and findings.time_cost(rows) == "cpu_s"


def test_study_view_renders_and_filters(study_env):
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.switch_page("app_pages/compare.py").run()
    at.radio(key="compare_view").set_value("study").run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 2
    assert len(at.dataframe[0].value) >= 1                           # the Pareto front's table
    depth = next(m for m in at.multiselect if m.label == "Convolutions")
    depth.set_value([1]).run()
    assert not at.exception
    assert any("3 of 5 architectures" in c.value for c in at.caption)
    at.selectbox(key="study_arch").set_value("c4p").run()             # the keyboard's way to a point
    assert not at.exception and any("c4p: learning curves" in h.value for h in at.subheader)
    next(b for b in at.button if b.label == "Train c4p in the sidebar").click().run()
    assert not at.exception
    # the whole protocol, not only the architecture: the list shows it, the typed box is empty
    assert at.sidebar.selectbox(key="sidebar_preset").value == "c4p"
    assert next(t for t in at.sidebar.text_input if t.label.startswith("…or type")).value == ""
    number = {n.label: n.value for n in at.sidebar.number_input}
    assert (number["Training images"], number["Epochs"], number["Seed"]) == (200, 2, 0)
    assert at.sidebar.radio(key="sidebar_source").value.startswith("Committed subset")
    assert any("200 images x 2 epochs" in c.value and "expect about" in c.value for c in at.caption)
    # an architecture not among the origin's joins the Architecture list
    at.session_state[session.TRAIN_REQUEST] = {"arch": "c4c4p"}
    at.run()
    assert at.sidebar.selectbox(key="sidebar_preset").value == "c4c4p"


def test_study_charts_have_readable_log_ticks_a_floor_and_a_truthful_time_axis(records):
    table = study_charts.summary(records, study.protocol_key(PROTOCOL))
    assert study_charts.time_axis(table) == "cpu_s"             # these records hold their CPU time
    fig = study_charts.tradeoff_figure(table, "params")
    assert all(t.endswith("k") or t.isdigit() for t in fig.layout.xaxis.ticktext)
    assert "CPU" in study_charts.tradeoff_figure(table, "cpu_s").layout.xaxis.title.text
    y = fig.layout.yaxis                                               # error on a log scale, read as accuracy
    assert y.type == "log" and y.autorange == "reversed" and "95%" in y.ticktext
    points = np.concatenate([t.y for t in fig.data if t.customdata is not None])
    np.testing.assert_allclose(np.sort(points), np.sort(1 - table["acc"]))    # every architecture, none cut off
    assert {"1k", "2k", "5k", "10k", "20k", "50k", "100k"} <= set(study_charts.log_ticks(800, 120_000, False)[1])
    assert {"0.5 s", "1 s", "2 s"} <= set(study_charts.log_ticks(0.2, 4, True)[1])
    old = [{k: v for k, v in r.items() if k not in ("train_cpu_s", "cpu_s")} for r in records]
    old_table = study_charts.summary(old, study.protocol_key(PROTOCOL))
    assert study_charts.time_axis(old_table) == "epoch_s"            # no CPU time: wall clock, labelled so
    assert "wall-clock" in study_charts.tradeoff_figure(old_table, "epoch_s").layout.xaxis.title.text
    assert "wall-clock" in study_charts.chart_note(old_table, "epoch_s")
    assert "200 training images for 2 epochs" in study_charts.protocol_note(study.protocol_key(PROTOCOL))


def test_study_view_without_results_says_how_to_make_them(app_env):
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.switch_page("app_pages/compare.py").run()
    at.radio(key="compare_view").set_value("study").run()
    assert not at.exception
    assert any("python -m cnn sweep" in i.value for i in at.info)


def test_study_view_skips_damaged_lines(study_env):
    with open(study_env / "study.jsonl", "a") as f:
        f.write("garbage\n" + json.dumps({"arch": "c8p"}) + "\n")
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.switch_page("app_pages/compare.py").run()
    at.radio(key="compare_view").set_value("study").run()
    assert not at.exception
    assert any("2 lines" in w.value for w in at.warning)
