"""The classic stacked-LSTM classifier: LSTM(128, return_sequences=True, input_shape=(100, 100)),
LSTM(64), Dense(1, sigmoid). The task: does a hidden feature drift up or down over the
sequence? (x is noise plus a slow trend in feature 0 whose sign is the label.)"""
import sys

import numpy as np

from tensorcore import keras
from tensorcore.keras.layers import LSTM, Dense


def sequences(samples, steps=100, features=100, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=samples)
    x = rng.normal(0, 1, size=(samples, steps, features)).astype(np.float32)
    trend = np.linspace(-1, 1, steps, dtype=np.float32) * 2
    x[:, :, 0] += np.where(y[:, None] == 1, trend, -trend)
    return x, y.astype(np.float32)


def main(epochs=5, samples=1000, steps=100, features=100, verbose=1):
    x_train, y_train = sequences(samples, steps, features, seed=0)
    x_test, y_test = sequences(max(samples // 4, 8), steps, features, seed=1)
    model = keras.models.Sequential()
    model.add(LSTM(128, return_sequences=True, input_shape=(steps, features)))
    model.add(LSTM(64))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    model.summary()
    history = model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=verbose,
                        validation_data=(x_test, y_test))
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"stacked LSTM: test loss {loss:.4f}, test accuracy {accuracy:.4f}")
    return history, accuracy


if __name__ == "__main__":
    main(epochs=int(sys.argv[1]) if len(sys.argv) > 1 else 5)
