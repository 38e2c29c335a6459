"""The architecture study (weights/study.jsonl, written by `python -m cnn sweep`) as tables and Plotly figures.
Pure functions: records in, DataFrames or figures out; no Streamlit, no Dask."""
import json

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from cnn.studies import findings, study
from cnn.studies.origin import CONFIGURATIONS as ORIGIN_CONFIGS

AXES = {"params": "parameters (log scale)", "cpu_s": "CPU seconds per epoch, one thread (log scale)",
        "epoch_s": "wall-clock seconds per epoch on a shared machine (log scale)"}
HOVER = {"params": "%{x:,} parameters", "cpu_s": "%{x:.2f} CPU s per epoch",
         "epoch_s": "%{x:.2f} s per epoch (wall clock)"}
FULL_RUNS = "97-99%"       # the origin's ten trained fully (the other view), for the protocol note
FRONT = "#ff4b4b"                                           # the Pareto front (the app's accent colour)
DEPTHS = ["#9ecae1", "#4292c6", "#08519c", "#08306b", "#41ab5d", "#006d2c"]   # 1, 2, 3, ... convolutions


def protocols(records):
    """{protocol as a JSON string: number of runs}, the protocol with the most runs first."""
    counts = pd.Series([study.protocol_key(r["protocol"]) for r in records], dtype=object).value_counts()
    return dict(counts)


def protocol_label(protocol):
    """'8,000 images x 3 epochs, adam 0.002, batch 64, 10,000 test images (mnist)' for a protocol JSON string."""
    p = json.loads(protocol)
    return (f"{p.get('n_train', 0):,} images x {p.get('epochs')} epochs, {p.get('optimizer')} {p.get('lr')}, "
            f"batch {p.get('batch_size')}, {p.get('n_test', 0):,} test images ({p.get('data')})")


def summary(records, protocol):
    """Per architecture of `protocol` (a JSON string from protocols()): cnn.studies.study.summarise as a DataFrame,
    with a column saying which are the origin's ten."""
    table = pd.DataFrame(findings.summarise(records, protocol))
    table["origin"] = table["arch"].isin(ORIGIN_CONFIGS)
    return table


def time_axis(table):
    """'cpu_s' (CPU seconds per epoch) when every run of the table recorded its CPU time, else 'epoch_s' (wall
    clock): cnn.studies.findings.time_cost."""
    return findings.time_cost(table.to_dict("records"))


def protocol_note(protocol):
    """Why the study's accuracies are lower than the fully trained runs' (markdown)."""
    p = json.loads(protocol)
    return (f"**The study's protocol:** every network trains on the first {p.get('n_train', 0):,} training images "
            f"for {p.get('epochs')} epochs ({p.get('optimizer')}, learning rate {p.get('lr')}), then is tested on "
            f"{p.get('n_test', 0):,} test images. A short run, so that 100+ networks fit in a few hours: its "
            f"accuracies are lower than those of the origin's ten trained fully on 60,000 images ({FULL_RUNS}, the "
            "other view), and small or deep networks that learn slowly fall furthest behind. Compare the points "
            "with each other, not with those runs.")


def chart_note(table, time_axis):
    """How the accuracy axis is spaced, and what the time axis measures."""
    axis = ("Accuracy axis: spaced by the test error on a log scale, best at the top, so that 90 -> 95% is as far "
            "as 80 -> 90% and the many networks near the top spread out. ")
    if time_axis == "cpu_s":
        return axis + ("Time: the CPU time of each run's one training thread per epoch, median over seeds (it hardly "
                       "changes with the machine's load).")
    return axis + ("Time: wall-clock seconds per epoch measured during the sweep, median over seeds, on a machine "
                   "shared with other work: they vary (these records hold no CPU time), so read the time chart as a "
                   "rough order.")


def log_ticks(lo, hi, seconds):
    """Tick values and labels 1, 2, 5, 10, ... covering [lo, hi]: "2k", "10k", "100k" or "0.5 s", "1 s"."""
    values = [m * 10.0 ** e for e in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
              for m in (1, 2, 5)]
    values = [v for v in values if lo / 3 <= v <= hi * 3]
    if seconds:
        return values, [f"{v:g} s" for v in values]
    return values, [f"{v / 1e6:g}M" if v >= 1e6 else f"{v / 1e3:g}k" if v >= 1e3 else f"{v:g}" for v in values]


def train_request(arch, protocol, row):
    """The sidebar form's settings that repeat the study's run of `arch` (seed 0), and what it will take."""
    p = json.loads(protocol)
    request = dict(arch=arch, epochs=int(p["epochs"]), n_train=int(p["n_train"]), seed=0, lr=float(p["lr"]),
                   batch_size=int(p["batch_size"]), optimizer=p["optimizer"], activation=p.get("activation", "relu"),
                   source="MNIST (60,000 images)" if p.get("data") == "mnist" else "Committed subset (1,000 images)")
    per_epoch = row["cpu_s"] if np.isfinite(row.get("cpu_s", np.nan)) else row["epoch_s"]
    cost = (f"The sidebar is set to the study's protocol: {p['n_train']:,} images x {p['epochs']} epochs, seed 0, "
            f"{p['optimizer']} {p['lr']}, batch {p['batch_size']}. In the study an epoch of {arch} took about "
            f"{per_epoch:.1f} s, so expect about {per_epoch * p['epochs']:.0f} s of training plus the tests "
            "(longer when the server is busy).")
    return request, cost


def filter_summary(table, depths, pools, widths):
    """The architectures whose depth, pooling count and widest convolution are among those chosen."""
    return table[table["depth"].isin(depths) & table["pools"].isin(pools) & table["width"].isin(widths)]


ERROR_TICKS = [0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9]     # test errors labelled as accuracies


def tradeoff_figure(table, x="params", height=440):
    """Test accuracy against cost (log scale): a point per architecture with error bars from worst to best seed,
    colour by depth, the origin's ten as labelled diamonds, the Pareto front as a line. customdata[0] is the
    architecture, for selection. The accuracy axis is spaced by the test error on a log scale (ticks labelled as
    accuracies, best at the top): 90 -> 95% is as far as 80 -> 90%, so the many networks at 85-96% spread out
    and the few weak ones still show."""
    t = table.assign(error=1 - table["acc"], err_up=table["acc"] - table["lo"], err_down=table["hi"] - table["acc"],
                     kind=np.where(table["origin"], "origin's ten", "sampled"), depth=table["depth"].astype(str))
    fig = px.scatter(t, x=x, y="error", color="depth", symbol="kind", error_y="err_up", error_y_minus="err_down",
                     log_x=True, log_y=True, custom_data=["arch", "seeds", "std", "acc"],
                     symbol_map={"origin's ten": "diamond", "sampled": "circle"}, color_discrete_sequence=DEPTHS,
                     category_orders={"depth": [str(d) for d in sorted(table["depth"].unique())]},
                     labels={x: AXES[x], "error": "test accuracy, mean over seeds (spaced by the error, log scale)",
                             "depth": "convolutions"})
    fig.update_traces(marker=dict(size=8, opacity=0.75, line=dict(width=0.5, color="white")),
                      error_y=dict(thickness=1, width=0),
                      hovertemplate="<b>%{customdata[0]}</b><br>" + HOVER[x] + "<br>test accuracy %{customdata[3]:.2%}"
                                    " ± %{customdata[2]:.2%} (%{customdata[1]} seeds)<extra></extra>")
    front = t[t[f"front_{x}"]].sort_values(x)
    fig.add_trace(go.Scatter(x=front[x], y=front["error"], mode="lines", name="Pareto front", hoverinfo="skip",
                             line=dict(color=FRONT, width=2, shape="hv")))
    origin = t[t["origin"]]
    fig.add_trace(go.Scatter(x=origin[x], y=origin["error"], mode="text", text=origin["arch"], showlegend=False,
                             textposition="top center", textfont=dict(size=9), hoverinfo="skip"))
    values, labels = log_ticks(t[x].min(), t[x].max(), seconds=x != "params")
    fig.update_xaxes(tickvals=values, ticktext=labels)
    fig.update_yaxes(autorange="reversed", tickvals=ERROR_TICKS, ticktext=[f"{1 - e:.0%}" for e in ERROR_TICKS])
    # "closest" with a short hover distance: the label goes once the pointer leaves the point; a click's choice
    # shows below the charts (the Architecture list), not in a label that stays.
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), hoverdistance=10,
                      legend=dict(orientation="h", y=-0.2), clickmode="event+select")
    return fig


def front_table(table):
    """The architectures on either Pareto front, cheapest first, for st.dataframe (accuracies in percent)."""
    front = table[table["front_params"] | table["front_epoch_s"]].sort_values("params")
    return pd.DataFrame({"architecture": front["arch"], "parameters": front["params"],
                         "seconds / epoch": front["epoch_s"].round(2), "test accuracy %": (100 * front["acc"]).round(2),
                         "± std": (100 * front["std"]).round(2), "seeds": front["seeds"],
                         "front (params)": front["front_params"], "front (time)": front["front_epoch_s"]})
