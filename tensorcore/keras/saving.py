"""Model files and the summary table. Weights and whole models are written with tc.save
(safetensors, atomic): weight arrays in Keras' order and layouts under "layers.<i>.<j>", the
architecture and compile settings as JSON metadata beside them. Nothing is pickled."""
import numpy as np

from .. import no_grad, zeros
from ..serialization import load, save


def layer_config(layer):
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def from_config(config):
    from . import layers, models
    classes = {**{name: getattr(layers, name) for name in dir(layers)
                  if isinstance(getattr(layers, name), type)},
               "Sequential": models.Sequential}
    class_name, arguments = config["class_name"], dict(config["config"])
    if class_name not in classes:
        raise ValueError(f"load_model: unknown layer class {class_name!r} in the file")
    if class_name == "Sequential":
        return models.Sequential([from_config(c) for c in arguments["layers"]],
                                 name=arguments["name"])
    return classes[class_name](**arguments)


def _weight_table(model):
    return {f"layers.{i}.{j}": w for i, layer in enumerate(model.layers)
            for j, w in enumerate(layer.get_weights())}


def _apply_weight_table(model, table, path):
    for i, layer in enumerate(model.layers):
        n = len(layer.keras_weights())
        missing = [f"layers.{i}.{j}" for j in range(n) if f"layers.{i}.{j}" not in table]
        if missing:
            raise ValueError(f"load_weights: {path} has no weights for layer {layer.name!r} "
                             f"(missing {missing}); was it saved from another architecture?")
        layer.set_weights([np.asarray(table[f"layers.{i}.{j}"].numpy()) for j in range(n)])


def save_weights(model, path):
    save(_weight_table(model), path)


def load_weights(model, path):
    _apply_weight_table(model, load(path), path)


def save_model(model, path):
    config = layer_config(model)
    if config["class_name"] != "Sequential":                 # a functional chain: same layers
        config = {"class_name": "Sequential",
                  "config": {"name": model.name, "layers": [layer_config(layer)
                                                            for layer in model.layers]}}
    save({"format": "tensorcore.keras/1", "model": config,
          "compile": getattr(model, "compile_config", None), "weights": _weight_table(model)}, path)


def load_model(path, compile=True):
    from . import optimizers
    contents = load(path)
    if not isinstance(contents, dict) or contents.get("format") != "tensorcore.keras/1":
        raise ValueError(f"load_model: {path} is not a model saved by tensorcore.keras "
                         f"(model.save); for weights alone use model.load_weights")
    model = from_config(contents["model"])
    _apply_weight_table(model, contents["weights"], path)
    settings = contents.get("compile")
    if compile and settings and settings.get("loss"):
        model.compile(optimizer=optimizers.deserialize(settings["optimizer"]),
                      loss=settings["loss"], metrics=settings["metrics"])
    return model


def summary_text(model):
    rows = [("Layer (type)", "Output Shape", "Param #")]
    x = None if model.batch_input_shape is None else zeros(1, *model.batch_input_shape[1:])
    training = model.training
    model.eval()
    with no_grad():
        for layer in model.layers:
            shape = "?"
            if x is not None:
                x = layer(x)
                out = x[0] if isinstance(x, list) else x
                shape = str((None,) + tuple(out.shape[1:]))
            rows.append((f"{layer.name} ({type(layer).__name__})", shape,
                         f"{layer.count_params():,}"))
    model.train(training)
    widths = [max(len(r[i]) for r in rows) + 2 for i in range(3)]
    line = "─" * sum(widths)
    table = [f'Model: "{model.name}"', line]
    table += ["".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows[:1]]
    table += [line] + ["".join(cell.ljust(w) for cell, w in zip(row, widths))
                       for row in rows[1:]] + [line]
    total = model.count_params()
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    table += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}"]
    return "\n".join(table)
