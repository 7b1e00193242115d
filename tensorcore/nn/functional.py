"""tensorcore.nn.functional: the functional ops of SPEC.md, as torch.nn.functional."""
from ..ops.activations import gelu, leaky_relu, relu, sigmoid, tanh  # noqa: F401
from ..ops.linear import linear  # noqa: F401
from ..ops.softmax import log_softmax, softmax  # noqa: F401
