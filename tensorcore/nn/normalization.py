"""BatchNorm1d and BatchNorm2d, from differentiable tensor ops.

Training normalises with the batch's mean and biased variance over every axis but the
channel axis (1) and, with track_running_stats, folds the batch mean and unbiased variance
into running_mean/running_var with weight ``momentum`` (a cumulative average when momentum
is None). Evaluation normalises with the running statistics.
"""
from .. import creation
from ..autograd import no_grad
from ..errors import ShapeError
from ..ops.common import as_tensor
from ..ops.window_args import positive_int
from . import init
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    ranks = ()          # the input ranks the layer accepts
    layout = ""         # how the error message spells them

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.num_features = positive_int(name, "num_features", num_features)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(creation.empty(num_features, dtype=dtype, device=device))
            self.bias = Parameter(creation.empty(num_features, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, dtype=dtype,
                                                                device=device))
            self.register_buffer("running_var", creation.ones(num_features, dtype=dtype,
                                                              device=device))
            self.register_buffer("num_batches_tracked", creation.zeros((), dtype="int64",
                                                                       device=device))
        else:
            for buffer in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(buffer, None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x):
        x = as_tensor(x)
        name = type(self).__name__
        if x.ndim not in self.ranks or x.shape[1] != self.num_features:
            raise ShapeError(f"{name}: expected input of shape {self.layout} with C = "
                             f"{self.num_features}, received shape {tuple(x.shape)}")
        axes = (0,) + tuple(range(2, x.ndim))
        channel_shape = (1, self.num_features) + (1,) * (x.ndim - 2)
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            count = x.numel() // self.num_features
            if self.training and count == 1:
                raise ValueError(f"{name}: expected more than 1 value per channel when "
                                 f"training, got input of shape {tuple(x.shape)}")
            mean = x.mean(axis=axes, keepdims=True)
            var = x.var(axis=axes, keepdims=True, correction=0)
            if self.training and self.track_running_stats:
                self._update_running_stats(mean, var, count)
        else:
            mean = self.running_mean.reshape(channel_shape)
            var = self.running_var.reshape(channel_shape)
        y = (x - mean) / (var + self.eps).sqrt()
        if self.affine:
            y = y * self.weight.reshape(channel_shape) + self.bias.reshape(channel_shape)
        return y

    def _update_running_stats(self, mean, var, count):
        with no_grad():
            self.num_batches_tracked._data += 1
            factor = (1.0 / float(self.num_batches_tracked.item()) if self.momentum is None
                      else self.momentum)
            unbiased = var._data.reshape(-1) * (count / max(count - 1, 1))
            running_mean, running_var = self.running_mean._data, self.running_var._data
            running_mean *= 1 - factor
            running_mean += factor * mean._data.reshape(-1)
            running_var *= 1 - factor
            running_var += factor * unbiased

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """x (N, C) or (N, C, L)."""
    ranks, layout = (2, 3), "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """x (N, C, H, W)."""
    ranks, layout = (4,), "(N, C, H, W)"
