"""Optimizers: they update a model's parameter dicts in place from gradient dicts with the same keys."""
import numpy as np


class SGD:
    """Stochastic gradient descent, with momentum when momentum > 0."""

    def __init__(self, params, lr, momentum=0.0):
        self.params, self.lr, self.momentum = params, lr, momentum
        self.velocity = [{k: np.zeros_like(a) for k, a in p.items()} for p in params]

    def step(self, grads):
        for p, g, v in zip(self.params, grads, self.velocity, strict=True):
            for k in p:
                if self.momentum:
                    v[k] *= self.momentum
                    v[k] -= self.lr * g[k]
                    p[k] += v[k]
                else:
                    p[k] -= self.lr * g[k]


class Adam:
    """Adam (Kingma & Ba, 2015) with bias correction."""

    def __init__(self, params, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        self.params, self.lr, self.beta1, self.beta2, self.eps = params, lr, beta1, beta2, eps
        self.m = [{k: np.zeros_like(a) for k, a in p.items()} for p in params]
        self.v = [{k: np.zeros_like(a) for k, a in p.items()} for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        step = self.lr * np.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            for k in p:
                m[k] += (1 - self.beta1) * (g[k] - m[k])
                v[k] += (1 - self.beta2) * (g[k] * g[k] - v[k])
                p[k] -= step * m[k] / (np.sqrt(v[k]) + self.eps)
