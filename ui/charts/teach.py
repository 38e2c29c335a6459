"""Pure chart functions for the teaching views (tracing a number, calibration, watching it learn):
data in, Plotly figure out. No Streamlit, no cnn: unit-testable."""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

SELECTED = "#ff4b4b"


def _compact(fig, height):
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), plot_bgcolor="rgba(0,0,0,0)")
    return fig


def _grid_axes(fig, h, w, **where):
    axes = dict(visible=False, fixedrange=True, constrain="domain")
    fig.update_xaxes(range=[-0.5, w - 0.5], **axes, **where)
    fig.update_yaxes(range=[h - 0.5, -0.5], scaleanchor="x" if not where else None, **axes, **where)


def pick_map_figure(z, selected=None, box=None, hover="row %{y}, column %{x}: %{customdata:.4f}", height=None):
    """One (H, W) map in grey, clickable: a transparent square marker sits on every pixel, because Plotly
    heatmaps report no selection (choosing a pixel selects its marker; x: column, y: row). `selected` (row,
    col) is outlined in red; `box` (row, col, height, width) outlines a block, such as a convolution's patch."""
    z = np.asarray(z, dtype=float)
    h, w = z.shape
    rows, cols = np.divmod(np.arange(h * w), w)
    fig = go.Figure(go.Heatmap(z=z, colorscale="gray", showscale=False, hoverinfo="skip"))
    side = int(np.clip(360 / max(h, w), 6, 40))
    fig.add_trace(go.Scatter(x=cols, y=rows, mode="markers", customdata=z.ravel(),
                             hovertemplate=hover + "<extra></extra>",
                             marker=dict(symbol="square", size=side, color="rgba(0,0,0,0)"),
                             selected=dict(marker=dict(color="rgba(255,75,75,0.35)")),
                             unselected=dict(marker=dict(opacity=1)), showlegend=False))
    outlines = [(box, 2), (None if selected is None else (*selected, 1, 1), 3)]
    for (r, c, bh, bw), width in [(o, wd) for o, wd in outlines if o is not None]:
        fig.add_shape(type="rect", x0=c - 0.5, x1=c + bw - 0.5, y0=r - 0.5, y1=r + bh - 0.5,
                      line=dict(color=SELECTED, width=width))
    _grid_axes(fig, h, w)
    return _compact(fig, height or int(np.clip(h * 300 / max(h, w), 60, 300)) + 20)


def numbers_figure(arrays, titles, highlight=None):
    """Small 2-D arrays side by side, each cell showing its number (3 decimals), coloured blue (negative) to
    red (positive) on one scale per array; `highlight` (row, col) is outlined in every array."""
    fig = make_subplots(rows=1, cols=len(arrays), subplot_titles=titles, horizontal_spacing=0.06)
    for k, a in enumerate(arrays, start=1):
        a = np.asarray(a, dtype=float)
        lim = float(np.abs(a).max()) or 1.0
        fig.add_trace(go.Heatmap(z=a, text=np.round(a, 3), texttemplate="%{text}", colorscale="RdBu_r", zmin=-lim,
                                 zmax=lim, showscale=False, hoverinfo="skip", xgap=1, ygap=1), row=1, col=k)
        _grid_axes(fig, *a.shape, row=1, col=k)
        if highlight is not None:
            r, c = highlight
            fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5, row=1, col=k,
                          line=dict(color="black", width=3))
    return _compact(fig, 230)


def bars_figure(labels, values, highlight=None, title="", fmt=".3f"):
    """A bar per label (e.g. the ten logits), the one at index `highlight` in red."""
    values = np.asarray(values, dtype=float)
    colors = [SELECTED if i == highlight else "#8da0cb" for i in range(len(values))]
    fig = go.Figure(go.Bar(x=[str(x) for x in labels], y=values, marker_color=colors, textposition="outside",
                           text=[f"{v:{fmt}}" for v in values], cliponaxis=False,
                           hovertemplate="%{x}: %{y:" + fmt + "}<extra></extra>"))
    fig.update_layout(title=dict(text=title, font=dict(size=13)))
    fig.update_xaxes(type="category", fixedrange=True)
    fig.update_yaxes(fixedrange=True, zeroline=True)
    return _compact(fig, 240)


FEW = 30       # a reliability bin with fewer images than this is drawn hollow: its gap is mostly chance


def reliability_figure(bins, calibrated_bins=None):
    """Reliability diagram: accuracy against mean confidence per confidence bin (a perfectly calibrated
    model lies on the diagonal). bins: dicts with confidence, accuracy, count (from cnn.teach.calibration). A dot's
    size grows with its images, and a bin of fewer than FEW images is hollow and faint, with its count beside it:
    a bin of a few images is far from the diagonal by chance alone (and weighs almost nothing in the ECE)."""
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="gray", dash="dot"),
                               name="perfect calibration", hoverinfo="skip"))
    for name, data, color in (("raw softmax", bins, "#8da0cb"), ("calibrated", calibrated_bins, SELECTED)):
        for few in (False, True):
            part = [b for b in data or [] if (b["count"] < FEW) == few]
            if not part:
                continue
            fig.add_trace(go.Scatter(
                x=[b["confidence"] for b in part], y=[b["accuracy"] for b in part], name=name + (
                    f" (bins of under {FEW} images)" if few else ""), mode="markers+text" if few else "markers",
                text=[f"{b['count']}" for b in part] if few else None, textposition="middle right",
                textfont=dict(size=9, color="#555"), customdata=[b["count"] for b in part],
                marker=dict(color=color, opacity=0.45 if few else 0.85, symbol="circle-open" if few else "circle",
                            size=[5 + 4 * np.log10(b["count"]) for b in part], line=dict(width=1.5, color=color)),
                hovertemplate="confidence %{x:.3f}: accuracy %{y:.3f} (%{customdata} images)<extra>" + name
                + "</extra>"))
    fig.update_xaxes(title_text="confidence (largest probability)", range=[0, 1.02], fixedrange=True)
    fig.update_yaxes(title_text="accuracy", range=[0, 1.02], fixedrange=True)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.2))
    return _compact(fig, 400)


def weights_grid_figure(tiles, ncols=8):
    """Small weight maps (H, W, K), e.g. K filters of a one-channel convolution, in a grid of `ncols`
    columns: red positive, blue negative, white zero, on one scale for all."""
    tiles = np.asarray(tiles, dtype=float)
    h, w, k = tiles.shape
    ncols = min(ncols, k)
    nrows = -(-k // ncols)
    z = np.full((nrows * (h + 1) - 1, ncols * (w + 1) - 1), np.nan)       # NaN gaps are drawn blank
    for i in range(k):
        r, c = divmod(i, ncols)
        z[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = tiles[:, :, i]
    lim = float(np.nanmax(np.abs(z))) or 1.0
    fig = go.Figure(go.Heatmap(z=z, colorscale="RdBu_r", zmin=-lim, zmax=lim, showscale=False,
                               hovertemplate="%{z:.3f}<extra></extra>"))
    _grid_axes(fig, *z.shape)
    return _compact(fig, int(np.clip(z.shape[0] * 300 / z.shape[1], 80, 400)) + 40)


def outlier_figure(score, digit_scores, other_scores, threshold):
    """Why an input is (not) a digit: histograms of the not-a-digit scores of real digits (grey) and of
    non-digits (red), the threshold as a dashed line, and this input's score as a black line. Scores far out
    are drawn at the edge of the range, so the input's line is always in view."""
    digit_scores, other_scores = np.asarray(digit_scores, float), np.asarray(other_scores, float)
    lo = min(np.quantile(digit_scores, 0.01), threshold) - 2
    hi = max(np.quantile(other_scores, 0.99), threshold) + 2
    shown = float(np.clip(score, lo, hi))
    fig = go.Figure()
    for name, values, color in (("real digits", digit_scores, "#8da0cb"), ("not digits", other_scores, SELECTED)):
        fig.add_trace(go.Histogram(x=np.clip(values, lo, hi), name=f"{name} ({len(values):,})", opacity=0.6,
                                   marker_color=color, histnorm="percent", xbins=dict(start=lo, end=hi,
                                   size=(hi - lo) / 40), hovertemplate="%{y:.1f}% of " + name + "<extra></extra>"))
    fig.add_vline(x=threshold, line=dict(color="gray", dash="dash"), annotation_text="threshold",
                  annotation_position="top left")
    fig.add_vline(x=shown, line=dict(color="black", width=3), annotation_text=f"this input: {score:.1f}",
                  annotation_position="top right")
    fig.update_layout(barmode="overlay", legend=dict(orientation="h", yanchor="top", y=-0.25))
    fig.update_xaxes(title_text="not-a-digit score (right: less like a digit)", range=[lo, hi], fixedrange=True)
    fig.update_yaxes(title_text="% of images", fixedrange=True)
    return _compact(fig, 320)
