"""The classic Keras MLP (keras/examples mnist_mlp): Dense-Dropout stacks trained with SGD
(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True) on handwritten digits."""
import sys

from tensorcore import keras
from tensorcore.keras.layers import Dense, Dropout
from tensorcore.keras.optimizers import SGD

from _data import images


def main(epochs=20, limit=None, verbose=1):
    (x_train, y_train), (x_test, y_test), name = images(limit=limit)
    pixels = x_train.shape[1] * x_train.shape[2]
    x_train, x_test = x_train.reshape(-1, pixels), x_test.reshape(-1, pixels)
    y_train, y_test = keras.utils.to_categorical(y_train, 10), keras.utils.to_categorical(y_test, 10)

    model = keras.models.Sequential()
    model.add(Dense(512, activation="relu", input_shape=(pixels,)))
    model.add(Dropout(0.2))
    model.add(Dense(512, activation="relu"))
    model.add(Dropout(0.2))
    model.add(Dense(10, activation="softmax"))
    model.summary()
    sgd = SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
    model.compile(loss="categorical_crossentropy", optimizer=sgd, metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=128, epochs=epochs, verbose=verbose,
                        validation_data=(x_test, y_test))
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"{name}: test loss {loss:.4f}, test accuracy {accuracy:.4f}")
    return history, accuracy


if __name__ == "__main__":
    main(epochs=int(sys.argv[1]) if len(sys.argv) > 1 else 20)
