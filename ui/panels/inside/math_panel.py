"""Inside the network, "The math": each layer kind's forward and backward equations beside the plain loops that
compute them (cnn/engine/reference.py, for convolution and pooling) and the exact NumPy lines of
cnn/engine/layers.py that the engine runs, read from the source when the page runs, so they never drift."""
import inspect
import textwrap

import streamlit as st

from cnn.engine import layers, reference

# (title, what it does, forward equations, backward equations, the functions that compute them).
# delta is dL/d(output), the gradient arriving from the layer above; N images, channels last.
LESSONS = [
    ("Convolution (3x3, valid, stride 1)",
     "Each output value is a weighted sum of the 3x3xC input patch under it, plus the filter's bias. The engine "
     "copies every patch into one row (im2col) so that the whole layer is one matrix product.",
     [r"z_{n,i,j,k} = b_k + \sum_{a=0}^{2}\sum_{b=0}^{2}\sum_{c} x_{n,\,i+a,\,j+b,\,c}\; W_{a,b,c,k}"],
     [r"\frac{\partial L}{\partial W_{a,b,c,k}} = \sum_{n,i,j} x_{n,\,i+a,\,j+b,\,c}\;\delta_{n,i,j,k}"
      r"\qquad \frac{\partial L}{\partial b_k} = \sum_{n,i,j} \delta_{n,i,j,k}",
      r"\frac{\partial L}{\partial x_{n,p,q,c}} = \sum_{a,b,k} \delta_{n,\,p-a,\,q-b,\,k}\; W_{a,b,c,k}"
      r"\quad\text{(a full convolution of } \delta \text{ with the flipped kernel)}"],
     [layers.Conv3x3.forward, layers.im2col3x3, layers.Conv3x3.param_grads, layers.Conv3x3.input_grad]),
    ("Max pooling (2x2, stride 2)",
     "Each output is the largest value of its 2x2 window; in the backward pass only that value (the first "
     "maximum, when several tie) receives the gradient.",
     [r"y_{n,i,j,c} = \max_{a,b\in\{0,1\}} x_{n,\,2i+a,\,2j+b,\,c}"],
     [r"\frac{\partial L}{\partial x_{n,2i+a,2j+b,c}} = \begin{cases}\delta_{n,i,j,c} & \text{if } (a,b) "
      r"\text{ is the first maximum}\\ 0 & \text{otherwise}\end{cases}"],
     [layers.MaxPool2.forward, layers.MaxPool2.backward]),
    ("ReLU",
     "Negative values become 0; the gradient passes where the output is positive.",
     [r"y = \max(x, 0)"],
     [r"\frac{\partial L}{\partial x} = \delta \cdot [\,y > 0\,]"],
     [layers.ReLU.forward, layers.ReLU.backward]),
    ("Dense (fully connected)",
     "The input is flattened to one vector per image; every output unit is a weighted sum of all of it.",
     [r"y = x W + b \qquad x \in \mathbb{R}^{N\times n_{in}},\; W \in \mathbb{R}^{n_{in}\times n_{out}}"],
     [r"\frac{\partial L}{\partial W} = x^{\top}\delta \qquad \frac{\partial L}{\partial b} = \sum_n \delta_n"
      r"\qquad \frac{\partial L}{\partial x} = \delta\, W^{\top}"],
     [layers.Dense.forward, layers.Dense.backward]),
    ("Softmax with cross-entropy",
     "The last dense layer's ten outputs (logits) become probabilities; the loss is the mean negative log "
     "probability of the right digit. Fused, the gradient is simply the probabilities minus the one-hot label. "
     "Subtracting each row's largest logit first changes nothing mathematically and keeps exp from overflowing.",
     [r"p_{n,k} = \frac{e^{z_{n,k} - \max_j z_{n,j}}}{\sum_{k'} e^{z_{n,k'} - \max_j z_{n,j}}}"
      r"\qquad L = -\frac{1}{N}\sum_n \log p_{n,y_n}"],
     [r"\frac{\partial L}{\partial z_{n,k}} = \frac{1}{N}\left(p_{n,k} - [\,k = y_n\,]\right)"],
     [layers.softmax, layers.softmax_cross_entropy]),
]

# The plain version of a lesson's layer (cnn/engine/reference.py): loops that are the equations line for line,
# shown before the engine's fast code, which computes the same numbers (tests/test_reference.py).
PLAIN = {"Convolution (3x3, valid, stride 1)": [reference.conv3x3_forward, reference.conv3x3_backward],
         "Max pooling (2x2, stride 2)": [reference.maxpool2_forward, reference.maxpool2_backward]}

FUSED = (
    "The fast path the engine actually runs when a convolution is followed by pooling. A pooled output reads "
    "a 2x2 block of convolution outputs, whose 3x3 patches together cover one 4x4 patch of the input. The "
    "convolution at offset (a, b) of the block is that 4x4 patch times the 3x3 kernel placed at (a, b) in a "
    "4x4 kernel of zeros, so the layer copies one 4x4 patch per pooled pixel (4 times fewer copies than im2col "
    "of the full convolution), computes the four offsets as four matrix products and keeps their maximum. "
    "The bias is added after the maximum, and ReLU after the pooling: the bias is the same for the whole "
    "window and ReLU never changes which value is largest, so max(relu(z + b)) = relu(max(z) + b), the same "
    "number as the plain layers above (a test checks the two paths agree).")
FUSED_CODE = [layers.ConvPool.kernels4x4, layers.patches4x4, layers.ConvPool.forward, layers.ConvPool.backward]


def source(function):
    """The live source of a function or method of the engine, as the page shows it (dedented)."""
    return textwrap.dedent(inspect.getsource(function)).rstrip("\n")


def _code(functions):
    for function in functions:
        st.code(source(function), language="python")


def panel():
    st.caption("Each layer kind's equations, the plain loops that compute them (`cnn/engine/reference.py`), and the "
               "exact lines of `cnn/engine/layers.py` that the engine runs, read from its source as this page runs. "
               "In the backward equations, δ is the gradient of the loss with respect to the layer's output, "
               "arriving from the layer above.")
    for title, text, forward, backward, functions in LESSONS:
        with st.expander(title, expanded=False):
            st.markdown(text)
            st.markdown("**Forward**")
            for tex in forward:
                st.latex(tex)
            st.markdown("**Backward**")
            for tex in backward:
                st.latex(tex)
            if title in PLAIN:
                st.markdown("**The plain version** (`cnn/engine/reference.py`): one output value at a time, as the "
                            "equations say. Read it first.")
                _code(PLAIN[title])
                st.markdown("**What the engine runs** (`cnn/engine/layers.py`): the same numbers, many at once.")
            _code(functions)
    with st.expander("Convolution and pooling fused (ConvPool)", expanded=False):
        st.markdown(FUSED)
        _code(FUSED_CODE)
