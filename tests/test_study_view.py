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
    at.session_state[session.TRAIN_ARCH] = "c4c4p"                   # what the button's callback asks for
    at.run()
    assert next(t for t in at.sidebar.text_input if t.label.startswith("…or type")).value == "c4c4p"


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
