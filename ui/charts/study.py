"""The architecture study (weights/study.jsonl, written by `python -m cnn sweep`) as tables and Plotly figures.
Pure functions: records in, DataFrames or figures out; no Streamlit, no Dask."""
import json

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from cnn.studies import findings, study
from cnn.studies.origin import CONFIGURATIONS as ORIGIN_CONFIGS

AXES = {"params": "parameters", "epoch_s": "seconds per epoch (one process)"}
HOVER = {"params": "%{x:,} parameters", "epoch_s": "%{x:.2f} s per epoch"}
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


def filter_summary(table, depths, pools, widths):
    """The architectures whose depth, pooling count and widest convolution are among those chosen."""
    return table[table["depth"].isin(depths) & table["pools"].isin(pools) & table["width"].isin(widths)]


def tradeoff_figure(table, x="params", height=420):
    """Test accuracy against cost (log scale): a point per architecture with error bars from worst to best seed,
    colour by depth, the origin's ten as labelled diamonds, the Pareto front as a line. customdata[0] is the
    architecture, for selection."""
    t = table.assign(err_hi=table["hi"] - table["acc"], err_lo=table["acc"] - table["lo"],
                     kind=np.where(table["origin"], "origin's ten", "sampled"), depth=table["depth"].astype(str))
    fig = px.scatter(t, x=x, y="acc", color="depth", symbol="kind", error_y="err_hi", error_y_minus="err_lo",
                     log_x=True, custom_data=["arch", "seeds", "std"],
                     symbol_map={"origin's ten": "diamond", "sampled": "circle"}, color_discrete_sequence=DEPTHS,
                     category_orders={"depth": [str(d) for d in sorted(table["depth"].unique())]},
                     labels={x: AXES[x], "acc": "test accuracy (mean over seeds)", "depth": "convolutions"})
    fig.update_traces(marker=dict(size=8, line=dict(width=0.5, color="white")), error_y=dict(thickness=1, width=0),
                      hovertemplate="<b>%{customdata[0]}</b><br>" + HOVER[x] + "<br>test accuracy %{y:.2%} "
                                    "± %{customdata[2]:.2%} (%{customdata[1]} seeds)<extra></extra>")
    front = t[t[f"front_{x}"]].sort_values(x)
    fig.add_trace(go.Scatter(x=front[x], y=front["acc"], mode="lines", name="Pareto front", hoverinfo="skip",
                             line=dict(color=FRONT, width=2, shape="hv")))
    origin = t[t["origin"]]
    fig.add_trace(go.Scatter(x=origin[x], y=origin["acc"], mode="text", text=origin["arch"], showlegend=False,
                             textposition="top center", textfont=dict(size=9), hoverinfo="skip"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), yaxis_tickformat=".1%",
                      legend=dict(orientation="h", y=-0.2), clickmode="event+select")
    return fig


def front_table(table):
    """The architectures on either Pareto front, cheapest first, for st.dataframe (accuracies in percent)."""
    front = table[table["front_params"] | table["front_epoch_s"]].sort_values("params")
    return pd.DataFrame({"architecture": front["arch"], "parameters": front["params"],
                         "seconds / epoch": front["epoch_s"].round(2), "test accuracy %": (100 * front["acc"]).round(2),
                         "± std": (100 * front["std"]).round(2), "seeds": front["seeds"],
                         "front (params)": front["front_params"], "front (time)": front["front_epoch_s"]})
