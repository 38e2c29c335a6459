"""Pure chart functions for evaluating and explaining a model: data in, Plotly figure or image out (no Streamlit)."""
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
    floor = float(np.floor(max(0.0, min(0.9, low - 0.02)) * 20) / 20)                 # a whole 5% step
    fig.update_yaxes(range=[floor, 1], tickformat=".0%", fixedrange=True,
                     title_text=f"accuracy (axis from {floor:.0%}, zoomed)" if floor > 0 else "accuracy")
    fig.update_xaxes(tickmode="linear", dtick=1, fixedrange=True)
    return _compact(fig, 260)


OUTLINE = (60, 60, 60)          # the digit's outline over a saliency or occlusion map
# Plotly's "RdBu_r" (ColorBrewer): dark blue at -1, near-white at 0, dark red at +1.
DIVERGING = np.array([px.colors.unlabel_rgb(c) for c in px.colors.sequential.RdBu_r], dtype=float)


def diverging_colors(values):
    """Values in [-1, 1] (any shape) -> RGB uint8 colours (shape + (3,)) on the blue-white-red scale."""
    t = (np.clip(np.asarray(values, dtype=float), -1, 1) + 1) / 2 * (len(DIVERGING) - 1)   # 0 .. 10
    i = np.minimum(t.astype(int), len(DIVERGING) - 2)
    frac = (t - i)[..., None]
    return np.rint(DIVERGING[i] * (1 - frac) + DIVERGING[i + 1] * frac).astype(np.uint8)


def outline(mask, scale, width=2):
    """The edge of a (H, W) boolean mask (the digit's ink) at `scale` x scale pixels per cell: (H*scale,
    W*scale) bool, `width` pixels thick inside the ink's border."""
    m = np.asarray(mask, bool).repeat(scale, axis=0).repeat(scale, axis=1)
    inner = m.copy()
    for _ in range(width):                                   # erode by one pixel in the four directions
        inner[1:] &= inner[:-1].copy()
        inner[:-1] &= inner[1:].copy()
        inner[:, 1:] &= inner[:, :-1].copy()
        inner[:, :-1] &= inner[:, 1:].copy()
    return m & ~inner


def attribution_image(heat, scale=9, legend=True, ink=None):
    """A signed (H, W) map (saliency or occlusion) -> (RGBA uint8 image, limit).

    Red is positive, blue negative, white zero, on a symmetric scale from -limit to +limit (limit: the
    largest magnitude in the map; an all-zero map is all white, with limit 1). Each pixel becomes a
    scale x scale square, so the picture stays crisp. With `legend`, a colour bar from -limit (left) to
    +limit (right) sits below the map, after a transparent gap. An image, not a Plotly heatmap: the Draw
    page redraws two of these after every stroke, and a browser shows a PNG for a fraction of the work.
    `ink`: the (H, W) input image; its outline (where it passes 0.5) is drawn over the map in dark grey, so
    that the colours read as places on the digit.
    """
    z = np.nan_to_num(np.asarray(heat, dtype=float))
    lim = float(np.abs(z).max()) or 1.0
    image = diverging_colors(z / lim).repeat(scale, axis=0).repeat(scale, axis=1)     # (H*scale, W*scale, 3)
    if ink is not None:
        image[outline(np.asarray(ink) > 0.5, scale)] = OUTLINE
    if legend:
        width = image.shape[1]
        bar = diverging_colors(np.linspace(-1, 1, width))[None].repeat(max(4, scale), axis=0)
        gap = np.zeros((max(3, scale // 2), width, 3), np.uint8)
        image = np.concatenate([image, gap, bar])
    alpha = np.full(image.shape[:2] + (1,), 255, np.uint8)
    if legend:
        alpha[scale * z.shape[0]:-len(bar)] = 0                                         # the gap shows the page
    return np.concatenate([image, alpha], axis=2), lim
