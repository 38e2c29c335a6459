"""Inputs: a canvas drawing or a photo of handwriting -> the network's 28x28 input."""
