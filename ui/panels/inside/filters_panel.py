"""Inside the network, the Filters tab: each convolution's learned 3x3 weights on a colour scale. The first
layer's filters read the image itself, so all of them show at once; a deeper layer's filter reads every channel
of the layer before, so it shows one filter at a time, as its slices over those channels, chosen with a slider."""
import streamlit as st

from ui.charts import basic as charts


def panel(model):
    filters = model.filters()                                          # [(label, (3, 3, C_in, C_out))]
    if not filters:
        st.info(f"{model.arch} has no convolution layer, so it has no 3x3 filters.")
        return
    st.caption("The learned 3x3 weights. Red is positive (the filter answers ink there), blue negative (ink there "
               "lowers its answer), white near zero; one colour scale per layer, shown on the right.")
    for i, (name, weights) in enumerate(filters):
        c_in, c_out = weights.shape[2:]
        if c_in == 1:
            st.markdown(f"**Layer {i + 1}** `{name}`: {c_out} filters over the image, one tile each, "
                        f"in rows of {min(16, c_out)}.")
            st.plotly_chart(charts.filter_figure(weights), key=f"filters_{i}", config={"displayModeBar": False})
            continue
        st.markdown(f"**Layer {i + 1}** `{name}`: {c_out} filters, each over the {c_in} channels of the layer "
                    f"before. One filter at a time: a tile per input channel, in rows of {min(16, c_in)}.")
        out = st.slider(f"Filter of layer {i + 1}", 1, c_out, 1, key=f"filter_pick_{i}",
                        help="Each filter adds up its 3x3 weights times each input channel's window.") - 1
        st.plotly_chart(charts.filter_figure(weights, out), key=f"filters_{i}", config={"displayModeBar": False})
