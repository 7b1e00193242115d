"""Conv2D and the 2-D pooling layers on channels-last (NHWC) images, as Keras. The NCHW ops
receive a transposed view (no copy): the C++ kernels recognise channels-last memory."""
from ...nn import functional as F
from ...ops.conv import conv2d_max_pool2d
from .. import activations
from .base import Layer


def _pair(name, value):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v > 0 for v in pair):
        raise ValueError(f"{name}: expected a positive int or a pair of them, received {value!r}")
    return pair


def _padding(name, padding):
    if padding not in ("valid", "same"):
        raise ValueError(f"{name}: padding must be 'valid' or 'same', received {padding!r}")
    return padding


# kernel layouts: Keras (kh, kw, C, filters) <-> the conv op's (filters, C, kh, kw)
def KERNEL_FROM_KERAS(w):
    return w.transpose(3, 2, 0, 1)


def KERNEL_TO_KERAS(w):
    return w.transpose(2, 3, 1, 0)


def nchw(x):
    return x.permute(0, 3, 1, 2)


def nhwc(x):
    return x.permute(0, 2, 3, 1)


class Conv2D(Layer):
    """(N, H, W, C) -> (N, OH, OW, filters); kernel (kh, kw, C, filters) in Keras' layout,
    held as (filters, C, kh, kw) for the conv op."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", activation=None,
                 use_bias=True, dilation_rate=(1, 1), kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = _pair("Conv2D kernel_size", kernel_size)
        self.strides = _pair("Conv2D strides", strides)
        self.dilation_rate = _pair("Conv2D dilation_rate", dilation_rate)
        self.padding = _padding("Conv2D", padding)
        if self.padding == "same" and self.strides != (1, 1):
            raise ValueError("Conv2D: padding='same' with strides other than 1 is not supported")
        self.use_bias = use_bias
        self.activation_name = activations.name_of(activation)
        self.activation = activations.get(activation)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"expected ndim=4 (N, H, W, C), received input shape "
                             f"{(None,) + tuple(input_shape)}")
        kh, kw = self.kernel_size
        self.add_weight("kernel", (kh, kw, input_shape[-1], self.filters), self.kernel_initializer,
                        from_keras=KERNEL_FROM_KERAS)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)

    def call(self, x):
        return self.activation(self.before_activation(x))

    def before_activation(self, x):
        """Convolution and bias, (N, OH, OW, filters)."""
        y = F.conv2d(nchw(x), self.kernel, self.bias if self.use_bias else None,
                     stride=self.strides, padding=self.padding, dilation=self.dilation_rate)
        return nhwc(y)

    def max_pooled(self, x):
        """MaxPooling2D()(self.before_activation(x)) (2x2 windows at stride 2) by one op that
        pools as it convolves where a kernel does (one input channel: a first layer)."""
        y = conv2d_max_pool2d(nchw(x), self.kernel, self.bias if self.use_bias else None,
                              stride=self.strides, padding=self.padding,
                              dilation=self.dilation_rate)
        return nhwc(y)

    def keras_weights(self):
        weights = [("kernel", KERNEL_TO_KERAS, KERNEL_FROM_KERAS)]
        return weights + ([("bias", None, None)] if self.use_bias else [])

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "activation": self.activation_name,
                "use_bias": self.use_bias, "dilation_rate": list(self.dilation_rate)}


class _Pooling2D(Layer):
    pool = None

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _pair(f"{type(self).__name__} pool_size", pool_size)
        self.strides = self.pool_size if strides is None else _pair(
            f"{type(self).__name__} strides", strides)
        self.padding = _padding(type(self).__name__, padding)
        if self.padding == "same":
            raise ValueError(f"{type(self).__name__}: padding='same' is not supported")

    def call(self, x):
        return nhwc(type(self).pool(nchw(x), self.pool_size, stride=self.strides))

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding}


class MaxPooling2D(_Pooling2D):
    pool = staticmethod(F.max_pool2d)


class AveragePooling2D(_Pooling2D):
    pool = staticmethod(F.avg_pool2d)
