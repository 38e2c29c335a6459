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


def test_knee_and_effects(records):
    rows = findings.summarise(records, study.protocol_key(PROTOCOL))
    knee = findings.knee(rows, "params")
    assert knee is None or knee["front_params"]
    coefs, r2 = findings.effects(rows, "params")
    assert set(coefs) == {"log2 params", "convolutions", "poolings", "log2 width", "dense layers"} and r2 <= 1


def test_study_view_renders_filters_and_fills_the_sidebar(study_env):
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
    assert study_charts.time_axis(table) == "cpu_epoch_s"             # these records hold their CPU time
    fig = study_charts.tradeoff_figure(table, "params")
    assert all(t.endswith("k") or t.isdigit() for t in fig.layout.xaxis.ticktext)
    assert "CPU" in study_charts.tradeoff_figure(table, "cpu_epoch_s").layout.xaxis.title.text
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
