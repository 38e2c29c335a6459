"""Watch a network learn: a training callback that keeps a few snapshots of the first layer's weights and of
a probe image's first feature maps as cnn.train runs, with the accuracy at each. Bounded in memory: at most
MOST snapshots of at most CHANNELS channels each (a few hundred kilobytes for any architecture).

    recorder = Snapshots(model, probe, x_eval, y_eval, epochs=config.epochs)
    cnn.train(model, ..., callback=lambda event: recorder(event))

It only reads the model, between two training steps, from the training thread itself.
"""
import numpy as np

from cnn.engine.layers import Conv3x3, Dense

from .trace import stages

MOST = 24          # snapshots kept per run (the untrained network, then evenly spaced steps)
CHANNELS = 16      # filters and feature maps kept per snapshot
EVAL_IMAGES = 100  # images the accuracy at each snapshot is measured on (a quick look: 1% steps)


class Snapshots:
    def __init__(self, model, probe, x_eval, y_eval, epochs):
        self.model, self.probe, self.epochs = model, probe, epochs
        self.x_eval, self.y_eval = x_eval[:EVAL_IMAGES], np.asarray(y_eval[:EVAL_IMAGES])
        self.items = []                 # appended by the training thread; read by copying the list
        self._every = None
        self._record(step=0, epoch=0.0, loss=None)

    def __call__(self, event):
        """A cnn.train callback event; returns None (it never asks the run to stop)."""
        if event["kind"] != "batch":
            return
        n = event["n_batches"]
        total = n * self.epochs
        self._every = self._every or max(1, -(-total // (MOST - 1)))     # at most MOST - 1 more snapshots
        step = (event["epoch"] - 1) * n + event["batch"]
        if step % self._every == 0 or step == total:
            self._record(step, step / n, event["loss"])

    def _record(self, step, epoch, loss):
        if len(self.items) >= MOST:
            return
        found = stages(self.model, self.probe)
        maps = found[1].values[:, :, :CHANNELS].copy()              # the first layer's output for the probe
        accuracy = float((self.model.predict(self.x_eval) == self.y_eval).mean()) if len(self.y_eval) else None
        self.items.append({"step": step, "epoch": epoch, "loss": loss, "accuracy": accuracy,
                           "weights": first_weights(self.model), "maps": maps, "maps_label": found[1].label})


def first_weights(model):
    """The first layer with weights, as ("filters", (3, 3, C_in, k)) for a convolution, or ("templates",
    (H, W, k)) for a dense layer: each unit's weights over the 28x28 input (its first channel); k <= CHANNELS."""
    layer = next(layer for layer in model.layers if isinstance(layer, (Conv3x3, Dense)))
    W = layer.params["W"]
    if isinstance(layer, Conv3x3):
        return "filters", W[:, :, :, :CHANNELS].copy()
    side = int(round(np.sqrt(W.shape[0])))                             # 28, or 14 after a pooling
    c = W.shape[0] // (side * side)
    return "templates", W[:, :CHANNELS].reshape(side, side, c, -1)[:, :, 0, :].copy()
