"""Model and Sequential: compile, fit, evaluate, predict and the *_on_batch calls run through
tensorcore.train's one training loop; weights, summary and saving as Keras."""
import numpy as np

from ..train import Trainer
from ..train.arguments import reject_unknown
from ..train.metrics import resolve_metric
from . import activations, losses, optimizers, saving
from .engine import KerasTensor
from .layers import InputLayer, Layer
from .pool_before_relu import pool_before_activation, pools_before_activation


class Model(Layer):
    """The functional model ``Model(inputs=keras.Input(shape), outputs=...)``; base of
    Sequential. Subclasses list their layers in ``self.layers``."""

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.trainer = None
        self.stop_training = False        # set by callbacks; the training loop reads it
        self.inputs, self.outputs = inputs, outputs
        if inputs is None and outputs is None:
            return
        if not (isinstance(inputs, KerasTensor) and isinstance(outputs, KerasTensor)):
            raise TypeError("Model: expected inputs=keras.Input(...) and outputs a tensor made "
                            "from it by calling layers")
        self.batch_input_shape = inputs.shape
        self.built = True
        for layer in outputs.layers():
            self.add_module(layer.name, layer)

    @property
    def layers(self):
        return [m for m in self.children() if isinstance(m, Layer)]

    def call(self, x):
        return self.outputs.evaluate({id(self.inputs): x})

    # ---- trainability (which weights a compiled model updates: see _make_trainer)
    @property
    def trainable_weights(self):
        return trainable_weights(self)

    @property
    def non_trainable_weights(self):
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    @property
    def weights(self):
        return [w for layer in self.layers for w in layer.weights]

    def get_weights(self):
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights):
        weights = list(weights)
        expected = sum(len(layer.keras_weights()) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f'Model "{self.name}" expects {expected} weight arrays, received '
                             f"{len(weights)}")
        for layer in self.layers:
            n = len(layer.keras_weights())
            layer.set_weights(weights[:n])
            weights = weights[n:]

    def count_params(self):
        return sum(int(np.prod(w.shape)) for w in self.weights)

    # ---- training
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs):
        reject_unknown("Model.compile", kwargs)
        self.optimizer = optimizers.get(optimizer)
        self.loss = None if loss is None else losses.get(loss)
        self.metrics_names_requested = list(metrics or [])
        # a loss saved by name: a string, or one of keras.losses' functions (any other
        # callable, even one of a built-in's name, cannot be saved: load_model then leaves the
        # model uncompiled)
        saved_loss = loss if isinstance(loss, str) else losses.name_of(self.loss)
        if not isinstance(loss, str) and losses.LOSSES.get(saved_loss) is not self.loss:
            saved_loss = None
        self.compile_config = {"optimizer": optimizers.serialize(self.optimizer),
                               "loss": saved_loss,
                               "metrics": [m for m in self.metrics_names_requested
                                           if isinstance(m, str)]}
        self.trainer = None
        self._frozen_at_compile = None
        if self.built:
            self._make_trainer()

    def _make_trainer(self):
        """The trainer of this compiled model, with 'accuracy' resolved from the loss and output
        as Keras does. A weight is updated by this model's steps when its layers were trainable
        at compile() (Keras 2: the GAN's discriminator, frozen before the stacked model is
        compiled, still trains through its own compile) or are trainable at the step (Keras 3:
        scripts that toggle ``trainable`` around each train_on_batch)."""
        loss, loss_name = self.loss, losses.name_of(self.loss)
        output_shape = self.compute_output_shape()
        metrics = [resolve_metric(m, loss_name, output_shape) for m in self.metrics_names_requested]
        weights = list(self.parameters())
        compiled = {id(w) for w in self.trainable_weights}

        def drop_frozen_gradients():
            trainable = compiled | {id(w) for w in self.trainable_weights}
            for w in weights:
                if id(w) not in trainable:
                    w.grad = None                   # tc.optim skips weights without a grad

        everything_trainable = len(compiled) == len(weights)   # nothing can be frozen later
        self.trainer = Trainer(
            model=self, loss=None if loss is None else (lambda y_pred, y_true: loss(y_true, y_pred)),
            optimizer=self.optimizer.bind(weights), metrics=metrics, callback_model=self,
            before_step=None if everything_trainable else drop_frozen_gradients)
        return self.trainer

    @property
    def metrics_names(self):
        return ["loss"] + ([m.name for m in self.trainer.metrics] if self.trainer else [])

    def compute_output_shape(self):
        """(None, ...) of the output, found by running a zero batch of one; None if unbuilt."""
        if self.batch_input_shape is None:
            return None
        return KerasTensor(self.batch_input_shape[1:]).through(self).shape

    def _compiled(self, what, x=None):
        if not hasattr(self, "optimizer"):
            raise RuntimeError(f"You must call `compile()` before using the model "
                               f"(`{what}` was called on {self.name!r}).")
        if self.trainer is None:
            if not self.built:
                self(np.asarray(x[:1]))           # builds every layer from the data's shape
            self._make_trainer()
        return self.trainer

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0, **kwargs):
        reject_unknown("Model.fit", kwargs)
        trainer = self._compiled("fit", x)
        self.history = trainer.fit(x, y, batch_size=32 if batch_size is None else batch_size,
                                   epochs=epochs, verbose=verbose, callbacks=callbacks,
                                   validation_split=validation_split,
                                   validation_data=validation_data, shuffle=shuffle,
                                   initial_epoch=initial_epoch)
        return self.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, callbacks=None,
                 return_dict=False, **kwargs):
        reject_unknown("Model.evaluate", kwargs)
        logs = self._compiled("evaluate", x).evaluate(
            x, y, batch_size=32 if batch_size is None else batch_size, verbose=verbose,
            callbacks=callbacks)
        return logs if return_dict else _loss_and_metrics(logs)

    def predict(self, x, batch_size=None, verbose=0, **kwargs):
        reject_unknown("Model.predict", kwargs)
        return self._predictor().predict(x, batch_size=32 if batch_size is None else batch_size,
                                         verbose=verbose)

    def train_on_batch(self, x, y, return_dict=False):
        logs = self._compiled("train_on_batch", x).train_on_batch(x, y)
        return logs if return_dict else _loss_and_metrics(logs)

    def test_on_batch(self, x, y, return_dict=False):
        logs = self._compiled("test_on_batch", x).test_on_batch(x, y)
        return logs if return_dict else _loss_and_metrics(logs)

    def predict_on_batch(self, x):
        return self._predictor().predict_on_batch(x)

    def _predictor(self):
        """The compiled trainer, or a loss-less one: predict needs no compile()."""
        return self.trainer if self.trainer is not None else Trainer(model=self, loss=None)

    # ---- description and files
    def summary(self, print_fn=print):
        print_fn(saving.summary_text(self))

    def save_weights(self, filepath, overwrite=True):
        saving.save_weights(self, filepath, overwrite)

    def load_weights(self, filepath):
        saving.load_weights(self, filepath)

    def save(self, filepath, overwrite=True):
        saving.save_model(self, filepath, overwrite)


def _loss_and_metrics(logs):
    """Keras' return value: the loss alone, or [loss, *metrics] when metrics are compiled."""
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def trainable_weights(layer):
    """Parameters of ``layer`` and its sublayers, skipping every layer marked untrainable."""
    if not layer.trainable:
        return []
    own = [p for _, p in layer.named_parameters(recurse=False)]
    return own + [w for child in layer.children() if isinstance(child, Layer)
                  for w in trainable_weights(child)]


class Sequential(Model):
    """A stack of layers, each fed the previous one's output."""

    def __init__(self, layers=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        if isinstance(layer, KerasTensor):           # Sequential([keras.Input(shape), ...])
            layer = InputLayer(shape=layer.shape[1:])
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a keras layer, received "
                            f"{type(layer).__name__}")
        if not self.layers and layer.batch_input_shape is not None:
            self.batch_input_shape = layer.batch_input_shape
        self.add_module(layer.name, layer)
        self.trainer = None
        if self.batch_input_shape is not None:
            self.build_from_shape(self.batch_input_shape)

    def build_from_shape(self, batch_input_shape):
        """Build every layer now by running a zero batch of one through the stack."""
        KerasTensor(batch_input_shape[1:]).through(self)

    def forward(self, x):
        self.built = True
        layers = self.layers
        i = 0
        while i < len(layers):              # each layer checks its own input
            layer = layers[i]
            if i + 1 < len(layers) and pools_before_activation(layer, layers[i + 1]):
                x = pool_before_activation(layer, layers[i + 1], x)
                i += 2
            else:
                x = layer(x)
                i += 1
        return x

    def build(self, input_shape=None):
        if input_shape is not None:
            self.batch_input_shape = tuple(input_shape)
            self.build_from_shape(self.batch_input_shape)

    def get_config(self):
        return {"name": self.name, "layers": [saving.layer_config(layer) for layer in self.layers]}


load_model = saving.load_model
