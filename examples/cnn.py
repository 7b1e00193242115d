"""The classic Keras CNN: Conv2D(32, (3, 3), relu) on 28x28x1 images (8x8x1 for the offline
digits), MaxPooling2D, Flatten, Dense(10, softmax), trained with Adam."""
import sys

from tensorcore import keras
from tensorcore.keras import layers

from _data import images


def build(input_shape):
    model = keras.models.Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=input_shape),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main(epochs=10, limit=None, verbose=1, prefer_mnist=True):
    (x_train, y_train), (x_test, y_test), name = images(prefer_mnist, limit=limit)
    x_train, x_test = x_train[..., None], x_test[..., None]          # NHWC, one channel
    model = build(x_train.shape[1:])
    model.summary()
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=verbose,
                        validation_data=(x_test, y_test))
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"{name}: test loss {loss:.4f}, test accuracy {accuracy:.4f}")
    return history, accuracy


if __name__ == "__main__":
    main(epochs=int(sys.argv[1]) if len(sys.argv) > 1 else 10)
