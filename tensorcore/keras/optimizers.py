"""Keras optimizers over tc.optim. One Keras optimizer may serve several compiled models (the
classic GAN compiles the discriminator and the stacked model with one Adam): each compile
binds its trainable parameters, and every binding shares the learning rate and the
``iterations`` count, as in Keras."""
from .. import optim
from ..train.arguments import reject_unknown
from .arguments import lookup


class Optimizer:
    """Keras' hyperparameter names; ``lr=`` and ``decay=`` (time-based decay
    lr / (1 + decay * iterations)) accepted as the legacy Keras API did."""
    optim_class = None

    def __init__(self, learning_rate, lr=None, decay=0.0, name=None, **kwargs):
        reject_unknown(type(self).__name__, kwargs)
        self._learning_rate = float(learning_rate if lr is None else lr)
        self.decay = float(decay)
        self.iterations = 0
        self.name = name or type(self).__name__.lower()

    @property
    def learning_rate(self):
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = float(value)

    lr = learning_rate

    def current_learning_rate(self):
        return self._learning_rate / (1 + self.decay * self.iterations)

    def bind(self, parameters):
        """A tc.optim optimizer over ``parameters`` stepping with this optimizer's settings."""
        return Binding(self, self.optim_class(list(parameters), lr=self._learning_rate,
                                              **self.optim_arguments()))

    def optim_arguments(self):
        raise NotImplementedError

    def get_config(self):
        return {"learning_rate": self._learning_rate, "decay": self.decay, **self.keras_arguments}


class Binding:
    """The optimizer of one compiled model: zero_grad() and step() as tc.optim, with the
    Keras optimizer's current learning rate."""

    def __init__(self, keras_optimizer, optimizer):
        self.keras_optimizer, self.optimizer = keras_optimizer, optimizer

    def zero_grad(self):
        self.optimizer.zero_grad()

    def step(self):
        lr = self.keras_optimizer.current_learning_rate()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.step()
        self.keras_optimizer.iterations += 1

    def state_dict(self):
        return self.optimizer.state_dict()

    def load_state_dict(self, state):
        self.optimizer.load_state_dict(state)


class SGD(Optimizer):
    optim_class = optim.SGD

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.keras_arguments = {"momentum": float(momentum), "nesterov": bool(nesterov)}

    def optim_arguments(self):
        return self.keras_arguments


class Adam(Optimizer):
    optim_class = optim.Adam

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.keras_arguments = {"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon}

    def optim_arguments(self):
        a = self.keras_arguments
        return {"betas": (a["beta_1"], a["beta_2"]), "eps": a["epsilon"]}


class RMSprop(Optimizer):
    optim_class = optim.RMSprop

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.keras_arguments = {"rho": rho, "momentum": momentum, "epsilon": epsilon,
                                "centered": centered}

    def optim_arguments(self):
        a = self.keras_arguments
        return {"alpha": a["rho"], "momentum": a["momentum"], "eps": a["epsilon"],
                "centered": a["centered"]}


class Adadelta(Optimizer):
    optim_class = optim.Adadelta

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.keras_arguments = {"rho": rho, "epsilon": epsilon}

    def optim_arguments(self):
        return {"rho": self.keras_arguments["rho"], "eps": self.keras_arguments["epsilon"]}


class Adagrad(Optimizer):
    optim_class = optim.Adagrad

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.keras_arguments = {"initial_accumulator_value": initial_accumulator_value,
                                "epsilon": epsilon}

    def optim_arguments(self):
        a = self.keras_arguments
        return {"initial_accumulator_value": a["initial_accumulator_value"], "eps": a["epsilon"]}


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adadelta": Adadelta,
              "adagrad": Adagrad}


def get(identifier):
    if isinstance(identifier, Optimizer):
        return identifier
    return lookup("optimizer", OPTIMIZERS, identifier.lower() if isinstance(identifier, str)
                  else identifier)()


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__.lower(), "config": optimizer.get_config()}


def deserialize(config):
    return OPTIMIZERS[config["class_name"]](**config["config"])
