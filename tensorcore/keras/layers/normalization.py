"""BatchNormalization over the last axis (channels-last), as Keras: batch statistics in
training, moving averages (momentum 0.99) in inference."""
from .base import Layer


class BatchNormalization(Layer):
    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, **kwargs):
        if axis != -1:
            raise ValueError(f"BatchNormalization: only axis=-1 (channels-last) is supported, "
                             f"received axis={axis}")
        super().__init__(**kwargs)
        self.momentum, self.epsilon, self.center, self.scale = momentum, epsilon, center, scale

    def build(self, input_shape):
        features = (input_shape[-1],)
        if self.scale:
            self.add_weight("gamma", features, "ones")
        if self.center:
            self.add_weight("beta", features, "zeros")
        self.add_weight("moving_mean", features, "zeros", trainable=False)
        self.add_weight("moving_variance", features, "ones", trainable=False)

    def call(self, x):
        axes = tuple(range(x.ndim - 1))
        if self.training:
            mean = x.mean(axis=axes)
            var = ((x - mean) ** 2).mean(axis=axes)
            m = self.momentum
            self.moving_mean._data[...] = m * self.moving_mean._data + (1 - m) * mean._data
            self.moving_variance._data[...] = m * self.moving_variance._data + (1 - m) * var._data
        else:
            mean, var = self.moving_mean, self.moving_variance
        y = (x - mean) / (var + self.epsilon).sqrt()
        if self.scale:
            y = y * self.gamma
        return y + self.beta if self.center else y

    def keras_weights(self):
        names = (["gamma"] if self.scale else []) + (["beta"] if self.center else [])
        return [(n, None, None) for n in names + ["moving_mean", "moving_variance"]]

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}

