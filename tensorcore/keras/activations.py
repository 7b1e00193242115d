"""Keras activation identifiers -> tensorcore ops. ``get(None)`` and ``"linear"`` are the
identity; a callable passes through."""
from ..nn import functional as F
from .arguments import lookup

ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": F.relu,
    "sigmoid": F.sigmoid,
    "tanh": F.tanh,
    "softmax": lambda x: F.softmax(x, axis=-1),
    "log_softmax": lambda x: F.log_softmax(x, axis=-1),
    "gelu": F.gelu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),     # Keras' default slope
}
# activations bias_activation fuses into a Dense layer's epilogue
FUSED = {"linear": "none", "relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh"}


def get(identifier):
    if identifier is None:
        return ACTIVATIONS["linear"]
    if callable(identifier):
        return identifier
    return lookup("activation", ACTIVATIONS, identifier)


def name_of(identifier):
    """The identifier as Keras serialises it ('linear' for None)."""
    if identifier is None:
        return "linear"
    return identifier if isinstance(identifier, str) else getattr(identifier, "__name__", "custom")

