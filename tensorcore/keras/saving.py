"""Model files and the summary table. Weights and whole models are written with tc.save
(safetensors, atomic): weight arrays in Keras' order and layouts under "layers.<i>.<j>", the
architecture, the compile settings and the optimizer's state beside them. Nothing is
pickled."""
import os

import numpy as np

from .. import no_grad, zeros
from ..serialization import load, save

FORMAT = "tensorcore.keras/1"


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
    """Each layer's weights from ``table``, all checked (present, of the layer's shapes, none
    left over) before any layer changes."""
    assignments, used = [], set()
    for i, layer in enumerate(model.layers):
        current = layer.get_weights()
        keys = [f"layers.{i}.{j}" for j in range(len(current))]
        missing = [key for key in keys if key not in table]
        if missing:
            raise ValueError(f"load_weights: {path} has no weights for layer {layer.name!r} "
                             f"(missing {missing}); was it saved from another architecture?")
        arrays = [np.asarray(table[key].numpy()) for key in keys]
        for key, array, now in zip(keys, arrays, current):
            if array.shape != now.shape:
                raise ValueError(f"load_weights: {path} holds {key} of shape {array.shape}, "
                                 f"layer {layer.name!r} has {now.shape}; was it saved from "
                                 f"another architecture?")
        assignments.append((layer, arrays))
        used.update(keys)
    extra = sorted(set(table) - used)
    if extra:
        raise ValueError(f"load_weights: {path} holds weights this model has no place for "
                         f"({', '.join(extra[:4])}{', ...' if len(extra) > 4 else ''}): was it "
                         f"saved from another architecture, or is the model not built yet (its "
                         f"layers make their weights when given input_shape or called on data)?")
    for layer, arrays in assignments:
        layer.set_weights(arrays)


def _refuse_to_overwrite(op, path, overwrite):
    """Keras asks before replacing a file when overwrite=False; here that is an error."""
    if not overwrite and not hasattr(path, "write") and os.path.exists(path):
        raise FileExistsError(f"{op}: {path} exists and overwrite=False")


def save_weights(model, path, overwrite=True):
    _refuse_to_overwrite("save_weights", path, overwrite)
    save(_weight_table(model), path)


def load_weights(model, path):
    """From a save_weights file, or the weights of a model.save file (as Keras reads both)."""
    contents = load(path)
    if isinstance(contents, dict) and contents.get("format") == FORMAT:
        contents = contents["weights"]
    _apply_weight_table(model, contents, path)


def save_model(model, path, overwrite=True):
    _refuse_to_overwrite("save", path, overwrite)
    config = layer_config(model)
    if config["class_name"] != "Sequential":                 # a functional chain: same layers
        _require_chain_of_distinct_layers(model)
        config = {"class_name": "Sequential",
                  "config": {"name": model.name, "layers": [layer_config(layer)
                                                            for layer in model.layers]}}
    save({"format": FORMAT, "model": config,
          "compile": getattr(model, "compile_config", None), "weights": _weight_table(model),
          "optimizer_state": _optimizer_state(model)}, path)


def _optimizer_state(model):
    """What a compiled model's optimizer has learnt (moments, momentum, the step count that
    time-based decay reads), so that training resumes where it stopped, as Keras saves it;
    None before compile or before the model is built."""
    trainer = getattr(model, "trainer", None)
    if trainer is None:
        return None
    return {"iterations": model.optimizer.iterations, "state": trainer.optimizer.state_dict()}


def _require_chain_of_distinct_layers(model):
    """A functional model is saved as the Sequential of its layers: only right where it
    applies each layer once, in order, to the whole output of the one before."""
    steps, tensor = [], model.outputs
    while tensor.parent is not None:
        steps.append(tensor)
        tensor = tensor.parent
    if any(t.index is not None for t in steps) or len({id(t.layer) for t in steps}) < len(steps):
        raise NotImplementedError(f"save: model {model.name!r} applies a layer more than once "
                                  f"or takes one output of a layer's several; only chains of "
                                  f"distinct layers are saved whole (save_weights saves the "
                                  f"weights of any model)")


def load_model(path, compile=True):
    from . import optimizers
    contents = load(path)
    if not isinstance(contents, dict) or contents.get("format") != FORMAT:
        raise ValueError(f"load_model: {path} is not a model saved by tensorcore.keras "
                         f"(model.save); for weights alone use model.load_weights")
    model = from_config(contents["model"])
    _apply_weight_table(model, contents["weights"], path)
    settings = contents.get("compile")
    if compile and settings and settings.get("loss"):
        model.compile(optimizer=optimizers.deserialize(settings["optimizer"]),
                      loss=settings["loss"], metrics=settings["metrics"])
        saved = contents.get("optimizer_state")
        if saved is not None:
            model._compiled("load_model").optimizer.load_state_dict(saved["state"])
            model.optimizer.iterations = saved["iterations"]
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
