"""Embedding: a lookup table of learned vectors."""
from .base import Layer


class Embedding(Layer):
    """Integer indices (N, ...) -> (N, ..., output_dim)."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="random_uniform", **kwargs):
        super().__init__(**kwargs)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = embeddings_initializer

    def build(self, input_shape):
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer)

    def cast_input(self, x):
        return x if x.dtype.kind in "iu" else x.to("int64")     # float arrays of indices too

    def call(self, x):
        indices = x.numpy()
        if indices.size and (indices.min() < 0 or indices.max() >= self.input_dim):
            raise ValueError(f'Layer "{self.name}": indices must be in [0, {self.input_dim}), '
                             f"received values in [{indices.min()}, {indices.max()}]")
        return self.embeddings[indices]

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim}
