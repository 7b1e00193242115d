"""The Keras face: the classic programs' calls (Sequential, compile/fit/evaluate/predict,
*_on_batch, trainable for GANs, weights and files), its layers against PyTorch with copied
weights, and Keras-quality errors."""
import numpy as np
import pytest

import tensorcore as tc
from tensorcore import keras
from tensorcore.backends.cpu.common import _C
from tensorcore.keras import layers

from helpers import assert_close, model_and_layers_one_by_one, rand, torch


def blobs(samples=240, features=6, classes=3, seed=0):
    """Separable clusters: features, integer labels."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, size=(classes, features))
    y = rng.integers(0, classes, size=samples)
    return (centers[y] + rng.normal(0, 1, size=(samples, features))).astype(np.float32), y


def mlp(features=6, classes=3, activation="softmax"):
    return keras.models.Sequential([layers.Dense(16, activation="relu", input_shape=(features,)),
                                    layers.Dense(classes, activation=activation)])


def test_fit_learns_and_reports_history():
    tc.manual_seed(0)
    x, y = blobs()
    model = mlp()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    onehot = keras.utils.to_categorical(y, 3)
    history = model.fit(x[:200], onehot[:200], epochs=15, batch_size=16, verbose=0,
                        validation_data=(x[200:], onehot[200:]))
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 15 for v in history.history.values())
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    loss, accuracy = model.evaluate(x[200:], onehot[200:], verbose=0)
    assert accuracy > 0.9 and loss == pytest.approx(history.history["val_loss"][-1], rel=1e-5)
    probabilities = model.predict(x[200:])
    assert isinstance(probabilities, np.ndarray) and probabilities.shape == (40, 3)
    assert_close(probabilities.sum(axis=1), np.ones(40), np.float32)
    assert np.mean(probabilities.argmax(1) == y[200:]) == pytest.approx(accuracy)


def test_sgd_legacy_arguments_and_assignable_learning_rate():
    optimizer = keras.optimizers.SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
    assert optimizer.lr == optimizer.learning_rate == 0.01
    optimizer.lr = 0.5
    assert optimizer.learning_rate == 0.5
    optimizer.iterations = 10
    assert optimizer.current_learning_rate() == pytest.approx(0.5 / (1 + 1e-6 * 10))
    x, y = blobs()
    model = mlp()
    model.compile(optimizer=keras.optimizers.SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True),
                  loss="mse", metrics=["accuracy"])
    history = model.fit(x, keras.utils.to_categorical(y, 3), epochs=5, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.optimizer.iterations == 5 * 8


def test_cnn_on_channels_last_images_learns():
    tc.manual_seed(1)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=96)
    x = rng.normal(0, 0.3, size=(96, 7, 7, 1)).astype(np.float32)
    x[y == 1, 2:5, 2:5, 0] += 1.5                              # class 1: a bright square
    model = keras.models.Sequential([
        layers.Conv2D(4, (3, 3), activation="relu", input_shape=(7, 7, 1)),
        layers.MaxPooling2D((2, 2)), layers.Flatten(), layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=12, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.85


def functional(stack, input_shape):
    """keras.Model(inputs, outputs) over the layers of ``stack`` in order."""
    inputs = x = keras.Input(shape=input_shape)
    for layer in stack:
        x = layer(x)
    return keras.Model(inputs=inputs, outputs=x)


@pytest.mark.parametrize("api", ["sequential", "functional"])
@pytest.mark.parametrize("separate_activation", [False, True])
def test_models_pool_a_relu_convolution_before_its_activation(separate_activation, api):
    tc.manual_seed(5)
    x = tc.tensor(np.random.default_rng(5).standard_normal((3, 9, 11, 2)).astype(np.float32))
    pool = layers.MaxPooling2D((2, 2))
    if separate_activation:     # Conv2D, Activation("relu"), MaxPooling2D
        conv = layers.Conv2D(4, (3, 3))
        stack = [conv, layers.Activation("relu"), pool]
    else:
        conv = layers.Conv2D(4, (3, 3), activation="relu")
        stack = [conv, pool]
    model = keras.models.Sequential(stack) if api == "sequential" else functional(stack, (9, 11, 2))
    for got, expected in model_and_layers_one_by_one(model, stack, x, conv.parameters):
        np.testing.assert_array_equal(got, expected)
    with tc.kernels.profile() as profile:
        model(x)
    assert profile.ops["relu"]["args"][0].shape == (3, 3, 4, 4)    # (N, OH, OW, C) pooled


@pytest.mark.parametrize("api", ["sequential", "functional"])
@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("channels", [1, 2])
def test_models_run_a_convolution_and_its_2x2_max_pool_as_one_op(channels, activation, api):
    tc.manual_seed(6)
    x = tc.tensor(np.random.default_rng(6).standard_normal((3, 13, 20, channels)),
                  dtype="float32")
    conv = layers.Conv2D(5, (3, 3), activation=activation)
    stack = [conv, layers.MaxPooling2D((2, 2)), layers.Flatten(), layers.Dense(3)]
    model = (keras.models.Sequential(stack) if api == "sequential"
             else functional(stack, (13, 20, channels)))
    model(x)    # builds the layers: from the next call on, the conv and pool run as one op
    for got, expected in model_and_layers_one_by_one(model, stack, x, conv.parameters):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    with tc.kernels.profile() as profile:
        (model(x) ** 2).sum().backward()
    # one input channel: the C++ pass where AVX-512 runs it; the two ops otherwise
    one_pass = channels == 1 and _C is not None and _C.isa() == "avx512"
    assert ("conv2d_max_pool2d" in profile.ops) == one_pass
    assert ("conv2d_max_pool2d_backward_weight" in profile.ops) == one_pass
    assert ("max_pool2d" in profile.ops) == (not one_pass)


@pytest.mark.parametrize("activation", ["gelu", "softmax", "sigmoid"])
def test_models_keep_other_activations_before_the_max_pool(activation):
    # GELU is not monotonic and softmax mixes channels: pooling first would change the values
    # (sigmoid would not, but only ReLU and linear convolutions are reordered)
    tc.manual_seed(7)
    x = tc.tensor(np.random.default_rng(7).standard_normal((2, 13, 20, 1)), dtype="float32")
    conv = layers.Conv2D(4, (3, 3), activation=activation)
    stack = [conv, layers.MaxPooling2D((2, 2))]
    model = keras.models.Sequential(stack)
    for got, expected in model_and_layers_one_by_one(model, stack, x, conv.parameters):
        np.testing.assert_array_equal(got, expected)
    with tc.kernels.profile() as profile:
        model(x)
    assert "conv2d_max_pool2d" not in profile.ops and "max_pool2d" in profile.ops


def test_stacked_lstm_learns():
    tc.manual_seed(2)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=64).astype(np.float32)
    x = rng.normal(0, 1, size=(64, 6, 3)).astype(np.float32)
    x[:, :, 0] += np.where(y[:, None] == 1, 1.0, -1.0)
    model = keras.models.Sequential([layers.LSTM(8, return_sequences=True, input_shape=(6, 3)),
                                     layers.LSTM(4), layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.RMSprop(0.01),
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=10, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]


def test_gan_trainable_semantics():
    """Frozen inside the stacked model, the discriminator is not updated by it; trained
    directly (compiled while trainable) it is; the generator learns through the stack."""
    tc.manual_seed(3)
    generator = keras.models.Sequential([layers.Dense(8, input_dim=4), layers.LeakyReLU(alpha=0.2),
                                         layers.Dense(5, activation="tanh")])
    discriminator = keras.models.Sequential([layers.Dense(8, input_dim=5), layers.LeakyReLU(0.2),
                                             layers.Dense(1, activation="sigmoid")])
    optimizer = keras.optimizers.Adam(0.01, 0.5)
    discriminator.compile(loss="binary_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    z = keras.Input(shape=(4,))
    discriminator.trainable = False
    combined = keras.models.Model(z, discriminator(generator(z)))
    combined.compile(loss="binary_crossentropy", optimizer=optimizer)
    noise = rand(16, 4, seed=1).astype(np.float32)
    d_before, g_before = discriminator.get_weights(), generator.get_weights()
    g_loss = combined.train_on_batch(noise, np.ones((16, 1)))
    assert np.isfinite(g_loss)
    assert all(np.array_equal(a, b) for a, b in zip(d_before, discriminator.get_weights()))
    assert not all(np.array_equal(a, b) for a, b in zip(g_before, generator.get_weights()))
    d_loss, d_accuracy = discriminator.train_on_batch(generator.predict(noise), np.zeros((16, 1)))
    assert 0 <= d_accuracy <= 1 and np.isfinite(d_loss)
    assert not all(np.array_equal(a, b) for a, b in zip(d_before, discriminator.get_weights()))


def test_weights_and_files_round_trip(tmp_path):
    x, y = blobs(samples=20)
    model = mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, verbose=0)
    expected = model.predict(x)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert_close(loaded.predict(x), expected, np.float32)
    assert loaded.evaluate(x, y, verbose=0)[0] == pytest.approx(model.evaluate(x, y, verbose=0)[0])
    other = mlp()
    model.save_weights(tmp_path / "w.weights.h5")
    other.load_weights(tmp_path / "w.weights.h5")
    assert_close(other.predict(x), expected, np.float32)
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(6, 16), (16,), (16, 3), (3,)]                 # Keras' layouts
    other.set_weights([w * 0 + 1 for w in model.get_weights()])
    assert all(np.all(w == 1) for w in other.get_weights())


def dense_chain(*units, built=True):
    inputs = [keras.Input(shape=(4,))] if built else []
    return keras.Sequential(inputs + [layers.Dense(n) for n in units])


@pytest.mark.parametrize("target", [
    lambda: dense_chain(8, 2, 9),                     # last layer's shapes differ
    lambda: dense_chain(8, 2),                        # a layer fewer: the file's last is left
    lambda: dense_chain(8, 2, 7, 5),                  # a layer more
    lambda: keras.Sequential([keras.Input(shape=(4,)), layers.Dense(8), layers.Dense(2),
                              layers.Dense(7, use_bias=False)]),
    lambda: dense_chain(8, 2, 7, built=False),        # no weights yet
])
def test_load_weights_of_another_architecture_raises_and_changes_nothing(tmp_path, target):
    """Extra weights in the file were ignored, and layers before the one that did not fit
    were already overwritten when it raised."""
    dense_chain(8, 2, 7).save_weights(tmp_path / "w")
    model = target()
    before = model.get_weights()
    with pytest.raises(ValueError, match="load_weights: .*another architecture"):
        model.load_weights(tmp_path / "w")
    after = model.get_weights()
    assert len(after) == len(before)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_load_weights_reads_a_whole_model_file(tmp_path):
    x = rand(5, 4, seed=1).astype(np.float32)
    saved, other = dense_chain(8, 3), dense_chain(8, 3)
    saved.save(tmp_path / "model")
    other.load_weights(tmp_path / "model")
    np.testing.assert_array_equal(other.predict(x), saved.predict(x))


def test_overwrite_false_keeps_the_file(tmp_path):
    path = tmp_path / "w"
    dense_chain(3).save_weights(path)
    before = path.read_bytes()
    for save in (dense_chain(5).save_weights, dense_chain(5).save):
        with pytest.raises(FileExistsError, match="exists and overwrite=False"):
            save(path, overwrite=False)
    assert path.read_bytes() == before


def test_save_refuses_a_functional_model_it_cannot_rebuild(tmp_path):
    """Saved as the Sequential of its distinct layers, a layer applied twice came back
    applied once."""
    inputs = keras.Input(shape=(4,))
    dense = layers.Dense(4)
    model = keras.Model(inputs, dense(dense(inputs)))
    with pytest.raises(NotImplementedError, match="applies a layer more than once"):
        model.save(tmp_path / "m")
    assert not (tmp_path / "m").exists()
    model.save_weights(tmp_path / "w")
    chain = keras.Model(inputs, layers.Dense(2)(dense(inputs)))
    chain.save(tmp_path / "chain")
    x = rand(3, 4, seed=2).astype(np.float32)
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "chain").predict(x),
                                  chain.predict(x))


@pytest.mark.parametrize("optimizer", [lambda: keras.optimizers.Adam(0.01, decay=0.1),
                                       lambda: keras.optimizers.SGD(0.05, momentum=0.9)])
def test_a_loaded_model_resumes_training_where_the_saved_one_stopped(tmp_path, optimizer):
    """model.save keeps the optimizer's moments and step count (time-based decay reads it),
    as Keras does; the loaded model restarted them: iterations 0, the learning rate back at
    its first value, and its next epoch's weights differed."""
    x, y = rand(64, 4, seed=1).astype(np.float32), rand(64, 1, seed=2).astype(np.float32)
    model = dense_chain(8, 1)
    model.compile(optimizer=optimizer(), loss="mse")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    model.save(tmp_path / "model")
    loaded = keras.models.load_model(tmp_path / "model")
    assert loaded.optimizer.iterations == model.optimizer.iterations == 8
    for m in (model, loaded):
        m.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_loss_given_as_a_keras_function_is_saved_by_name(tmp_path):
    """It was saved as None: the loaded model came back uncompiled."""
    model = dense_chain(1)
    model.compile(optimizer="sgd", loss=keras.losses.mean_squared_error)
    model.save(tmp_path / "m")
    loaded = keras.models.load_model(tmp_path / "m")
    x, y = rand(8, 4, seed=1).astype(np.float32), rand(8, 1, seed=2).astype(np.float32)
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))


def test_a_users_own_loss_is_not_saved_as_the_builtin_of_its_name(tmp_path):
    def mean_squared_error(y_true, y_pred):                   # not keras.losses'
        return ((y_true - y_pred) ** 2).sum()
    model = dense_chain(1)
    model.compile(optimizer="sgd", loss=mean_squared_error)
    model.save(tmp_path / "m")
    loaded = keras.models.load_model(tmp_path / "m")
    with pytest.raises(RuntimeError, match="compile"):
        loaded.evaluate(rand(4, 4, seed=1).astype(np.float32), np.zeros((4, 1)), verbose=0)


def test_summary_counts_parameters(capsys):
    model = keras.models.Sequential([layers.Dense(7, input_dim=5), layers.Dense(2)])
    model.summary()
    text = capsys.readouterr().out
    assert "(None, 7)" in text and "(None, 2)" in text
    assert f"Total params: {5 * 7 + 7 + 7 * 2 + 2:,}" in text


@pytest.mark.skipif(torch is None, reason="PyTorch not installed")
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_layers_match_torch(dtype):
    tc.manual_seed(4)
    x = rand(3, 5, 6, 2, seed=1)
    conv = layers.Conv2D(4, (3, 2), strides=(1, 1), padding="same", dtype=dtype)
    ours = conv(x.astype(dtype))
    kernel, bias = conv.get_weights()                            # (3, 2, 2, 4), (4,)
    theirs = torch.nn.functional.conv2d(torch.tensor(x).permute(0, 3, 1, 2),
                                        torch.tensor(kernel.astype(np.float64)).permute(3, 2, 0, 1),
                                        torch.tensor(bias.astype(np.float64)), padding="same")
    assert_close(ours.numpy(), theirs.permute(0, 2, 3, 1).numpy(), np.dtype(dtype))

    seq = rand(2, 5, 3, seed=2)
    lstm = layers.LSTM(4, return_sequences=True, dtype=dtype)
    ours = lstm(seq.astype(dtype))
    kernel, recurrent, bias = lstm.get_weights()                 # (3, 16), (4, 16), (16,)
    reference = torch.nn.LSTM(3, 4, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        reference.weight_ih_l0.copy_(torch.tensor(kernel.T.astype(np.float64)))
        reference.weight_hh_l0.copy_(torch.tensor(recurrent.T.astype(np.float64)))
        reference.bias_ih_l0.copy_(torch.tensor(bias.astype(np.float64)))
        reference.bias_hh_l0.zero_()
    assert_close(ours.numpy(), reference(torch.tensor(seq))[0].detach().numpy(), np.dtype(dtype))


def test_keras_errors():
    model = mlp()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(*blobs(samples=8), verbose=0)
    with pytest.raises(ValueError, match="Unknown optimizer: 'adamz'"):
        model.compile(optimizer="adamz", loss="mse")
    with pytest.raises(ValueError, match="Unknown loss: 'msee'"):
        model.compile(optimizer="adam", loss="msee")
    with pytest.raises(TypeError, match=r"unrecognized keyword arguments: \['foo'\]"):
        layers.Dense(3, foo=1)
    with pytest.raises(TypeError, match=r"\['epoch'\]"):
        model.compile(optimizer="adam", loss="mse")
        model.fit(*blobs(samples=8), epoch=3, verbose=0)
    with pytest.raises(ValueError, match="(?i)unknown metric"):
        model.compile(optimizer="adam", loss="mse", metrics=["acuracy"])
        model.fit(*blobs(samples=8), verbose=0)
    x, y = blobs(samples=10)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="10 samples.*9"):
        model.fit(x, keras.utils.to_categorical(y[:9], 3), verbose=0)
    with pytest.raises(ValueError, match=r"expected axis -1 of input shape to have value 6.*\(10, 5\)"):
        model.predict(x[:, :5])
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        model.fit(x, y, verbose=0)                               # one-hot loss, integer targets
    with pytest.raises(ValueError, match=r"expected shape \(6, 16\), received \(16, 6\)"):
        model.set_weights([w.T for w in model.get_weights()])


def test_nan_loss_stops_cleanly_and_keeps_the_last_good_checkpoint(tmp_path):
    x, y = blobs(samples=64)
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    path = tmp_path / "best.keras"

    class PoisonAtThirdEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                self.good = self.model.get_weights()
                self.model.set_weights([w * np.nan for w in self.good])

    poison = PoisonAtThirdEpoch()
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[
        poison, keras.callbacks.ModelCheckpoint(str(path)), keras.callbacks.TerminateOnNaN()])
    assert len(history.history["loss"]) == 3 and np.isnan(history.history["loss"][-1])
    restored = keras.models.load_model(path)
    assert all(np.array_equal(a, b) for a, b in zip(restored.get_weights(), poison.good))


def test_trainable_toggled_around_each_step_as_keras_3_scripts_do():
    """A discriminator compiled while frozen still trains when unfrozen for its own step."""
    discriminator = keras.models.Sequential([layers.Dense(3, input_dim=4),
                                             layers.Dense(1, activation="sigmoid")])
    discriminator.trainable = False
    discriminator.compile(loss="binary_crossentropy", optimizer="adam")
    x, y = rand(8, 4, seed=1).astype(np.float32), np.ones((8, 1))
    before = discriminator.get_weights()
    discriminator.train_on_batch(x, y)
    assert all(np.array_equal(a, b) for a, b in zip(before, discriminator.get_weights()))
    discriminator.trainable = True
    discriminator.train_on_batch(x, y)
    assert not any(np.array_equal(a, b) for a, b in zip(before, discriminator.get_weights()))


def test_embedding_and_uint8_inputs():
    model = keras.models.Sequential([layers.Embedding(10, 3, input_shape=(4,)), layers.Flatten(),
                                     layers.Dense(2)])
    indices = np.array([[1, 2, 3, 9], [0, 0, 5, 5]], dtype=np.uint8)
    out = model.predict(indices.astype(np.float32))
    assert_close(out, model.predict(indices), np.float32)
    table = model.layers[0].get_weights()[0]
    dense_kernel, dense_bias = model.layers[2].get_weights()
    assert_close(out, table[indices].reshape(2, -1) @ dense_kernel + dense_bias, np.float32)
    images = keras.models.Sequential([layers.Flatten(input_shape=(2, 2)), layers.Dense(1)])
    assert images.predict(np.full((3, 2, 2), 255, dtype=np.uint8)).dtype == np.float32


def test_lstm_dropout_masks_and_classic_script_helpers():
    """imdb_lstm's LSTM(128, dropout=0.2, recurrent_dropout=0.2) trains; in inference the
    dropouts are off and the fused path gives the same as the step-by-step one."""
    tc.manual_seed(5)
    lstm = layers.LSTM(4, dropout=0.3, recurrent_dropout=0.3, return_sequences=True,
                       dtype="float64")
    x = rand(3, 5, 2, seed=3)
    lstm.eval()
    fused = lstm(x).numpy()
    lstm.recurrent_dropout = 1e-12                 # the step-by-step path, masks all ~1
    lstm.train()
    lstm.dropout = 0.0
    assert_close(lstm(x).numpy(), fused, np.float64)
    model = keras.models.Sequential([layers.Embedding(20, 8, input_shape=(6,)),
                                     layers.LSTM(5, dropout=0.2, recurrent_dropout=0.2),
                                     layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adadelta(1.0),
                  metrics=["accuracy"])
    rng = np.random.default_rng(0)
    history = model.fit(rng.integers(0, 20, (32, 6)), rng.integers(0, 2, 32), epochs=2,
                        verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert keras.backend.image_data_format() == "channels_last"
    assert keras.utils.np_utils.to_categorical([1, 0]).tolist() == [[0, 1], [1, 0]]
