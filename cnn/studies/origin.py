"""The origin script: the ten architectures it tried, and its way of computing, kept as the benchmark's baseline
for c8p.

One image at a time, Python loops over every 3x3 region and every pooling window, weights updated
inside backprop, batch size 1, inputs scaled to [-0.5, 0.5], no activation (as in the origin).
Unlike the origin, pooling windows here are j*2:j*2+2 (the origin took j:j*2+2, a bug).
"""
import numpy as np

# The origin's ten architectures: the configuration experiment, the sweep, the study's charts, the app's
# architecture menu and its reserved model names all take them from here.
CONFIGURATIONS = ["c8p", "c16p", "c8pc8", "c8pc16", "c16pc8", "c16pc16", "c8pc8p", "c8pc16p", "c16pc8p", "c16pc16p"]


class Conv3x3:
    def __init__(self, num_filters, rng):
        self.filters = rng.standard_normal((num_filters, 3, 3)) / 9

    def iterate_regions(self, image):
        h, w = image.shape
        for i in range(h - 2):
            for j in range(w - 2):
                yield image[i:i + 3, j:j + 3], i, j

    def forward(self, image):
        self.last_input = image
        h, w = image.shape
        out = np.zeros((h - 2, w - 2, len(self.filters)))
        for region, i, j in self.iterate_regions(image):
            out[i, j] = np.sum(region * self.filters, axis=(1, 2))
        return out

    def backprop(self, d_out, lr):
        d_filters = np.zeros(self.filters.shape)
        for region, i, j in self.iterate_regions(self.last_input):
            for f in range(len(self.filters)):
                d_filters[f] += d_out[i, j, f] * region
        self.filters -= lr * d_filters


class MaxPool2:
    def iterate_regions(self, image):
        h, w, _ = image.shape
        for i in range(h // 2):
            for j in range(w // 2):
                yield image[i * 2:i * 2 + 2, j * 2:j * 2 + 2], i, j

    def forward(self, x):
        self.last_input = x
        h, w, c = x.shape
        out = np.zeros((h // 2, w // 2, c))
        for region, i, j in self.iterate_regions(x):
            out[i, j] = np.amax(region, axis=(0, 1))
        return out

    def backprop(self, d_out):
        d_input = np.zeros(self.last_input.shape)
        for region, i, j in self.iterate_regions(self.last_input):
            h, w, c = region.shape
            amax = np.amax(region, axis=(0, 1))
            for i2 in range(h):
                for j2 in range(w):
                    for f in range(c):
                        if region[i2, j2, f] == amax[f]:
                            d_input[i * 2 + i2, j * 2 + j2, f] = d_out[i, j, f]
        return d_input


class Softmax:
    def __init__(self, input_len, nodes, rng):
        self.weights = rng.standard_normal((input_len, nodes)) / input_len
        self.biases = np.zeros(nodes)

    def forward(self, x):
        self.last_input_shape = x.shape
        self.last_input = x.flatten()
        self.last_totals = self.last_input @ self.weights + self.biases
        exp = np.exp(self.last_totals - self.last_totals.max())
        return exp / exp.sum()

    def backprop(self, label, probs, lr):
        d_totals = probs.copy()
        d_totals[label] -= 1
        d_input = self.weights @ d_totals
        self.weights -= lr * np.outer(self.last_input, d_totals)
        self.biases -= lr * d_totals
        return d_input.reshape(self.last_input_shape)


def train_c8p(images, labels, lr=0.005, seed=0):
    """One pass over the images, one at a time, as the origin script trained c8p."""
    rng = np.random.default_rng(seed)
    conv, pool, softmax = Conv3x3(8, rng), MaxPool2(), Softmax(13 * 13 * 8, 10, rng)
    for image, label in zip(images, labels, strict=True):
        probs = softmax.forward(pool.forward(conv.forward(image / 255 - 0.5)))
        conv.backprop(pool.backprop(softmax.backprop(label, probs, lr)), lr)
