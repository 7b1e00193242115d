"""tensorcore.nn.functional: the functional ops of SPEC.md, as torch.nn.functional."""
from ..ops.activations import gelu, leaky_relu, relu, sigmoid, tanh  # noqa: F401
from ..ops.conv import conv2d  # noqa: F401
from ..ops.dropout import dropout  # noqa: F401
from ..ops.linear import linear  # noqa: F401
from ..ops.losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss)  # noqa: F401
from ..ops.lstm import lstm_cell  # noqa: F401
from ..ops.pooling import avg_pool2d, max_pool2d  # noqa: F401
from ..ops.softmax import log_softmax, softmax  # noqa: F401
