"""Pure chart functions for evaluating and explaining a model: data in, Plotly figure out (no Streamlit)."""
import numpy as np
import plotly.express as px
import plotly.graph_objects as go

HIGHLIGHT = "#ff4b4b"
MUTED = "#8da0cb"
DIGITS = list(range(10))


def _compact(fig, height):
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10))
    return fig


def confusion_figure(matrix):
    """The 10x10 confusion matrix (rows: true digit, columns: predicted digit) as a heatmap.

    Colour follows log(1 + count), so the few mistakes show beside the thousands of right answers.
    A transparent marker sits on every cell, because Plotly heatmaps report no selection: choosing
    a cell selects its marker (x: predicted digit, y: true digit), tinted red.
    """
    m = np.asarray(matrix, dtype=int)                                   # (10, 10)
    fig = go.Figure(go.Heatmap(z=np.log1p(m), x=DIGITS, y=DIGITS, text=m, texttemplate="%{text}",
                               colorscale="Blues", showscale=False, hoverinfo="skip", xgap=1, ygap=1))
    true, pred = np.divmod(np.arange(m.size), 10)
    fig.add_trace(go.Scatter(
        x=pred, y=true, mode="markers", customdata=np.stack([true, pred, m.ravel()], 1),
        marker=dict(symbol="square", size=30, color="rgba(0,0,0,0)"),
        selected=dict(marker=dict(color="rgba(255,75,75,0.55)")), unselected=dict(marker=dict(opacity=1)),
        hovertemplate="true %{customdata[0]}, predicted %{customdata[1]}: %{customdata[2]} images<extra></extra>",
        showlegend=False))
    axes = dict(tickmode="linear", dtick=1, fixedrange=True, constrain="domain", showgrid=False, zeroline=False)
    fig.update_xaxes(title_text="predicted digit", side="top", range=[-0.5, 9.5], **axes)
    fig.update_yaxes(title_text="true digit", range=[9.5, -0.5], scaleanchor="x", **axes)   # digit 0 on top
    fig.update_layout(plot_bgcolor="rgba(0,0,0,0)")
    return _compact(fig, 460)


def selected_cell(points):
    """(true digit, predicted digit) from st.plotly_chart's selection points of confusion_figure, or None.
    A point carries x (predicted) and y (true); anything unexpected counts as no selection."""
    for point in points or []:
        try:
            true, pred = int(point["y"]), int(point["x"])
        except (KeyError, TypeError, ValueError):
            continue
        if 0 <= true <= 9 and 0 <= pred <= 9:
            return true, pred
    return None


def per_class_figure(per_class, counts):
    """Accuracy on each true digit; the weakest digit highlighted. NaN (digit absent) shows as no bar."""
    acc = np.asarray(per_class, dtype=float)                            # (10,)
    worst = int(np.nanargmin(acc)) if np.isfinite(acc).any() else -1
    fig = px.bar(x=DIGITS, y=acc, labels={"x": "true digit", "y": "accuracy"})
    fig.update_traces(marker_color=[HIGHLIGHT if d == worst else MUTED for d in DIGITS],
                      customdata=np.asarray(counts), hovertemplate="digit %{x}: %{y:.2%} of %{customdata} images"
                      "<extra></extra>")
    low = np.nanmin(acc) if np.isfinite(acc).any() else 0.0
    fig.update_yaxes(range=[max(0.0, min(0.9, low - 0.02)), 1], tickformat=".0%", fixedrange=True)
    fig.update_xaxes(tickmode="linear", dtick=1, fixedrange=True)
    return _compact(fig, 260)


def attribution_figure(heat, title, hover):
    """A signed (28, 28) map (saliency or occlusion) in red (positive) and blue (negative), symmetric scale."""
    z = np.asarray(heat, dtype=float)
    lim = float(np.abs(z).max()) or 1.0
    # go.Heatmap, not px.imshow: the same picture built about 10 times faster, and it is redrawn every stroke
    fig = go.Figure(go.Heatmap(z=z, colorscale="RdBu_r", zmin=-lim, zmax=lim, showscale=False,
                               hovertemplate=f"row %{{y}}, column %{{x}}: {hover} %{{z:.3g}}<extra></extra>"))
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    fig.update_layout(title=title, title_font_size=13, plot_bgcolor="rgba(0,0,0,0)")
    return _compact(fig, 250)
