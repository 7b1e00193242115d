"""The main job: the classic Keras CNN (Conv2D 32 3x3 relu, MaxPooling2D, Flatten, Dense 128,
Dense 10 softmax) trained with model.fit on real handwritten digits (scikit-learn's bundled
8x8 digits: no download). Prints test accuracy and time per epoch, saves the training curves
as demo_curves.png, then times the CPU kernels against NumPy and PyTorch."""
import statistics
import time

from tensorcore import keras
from tensorcore.bench.report import format_report
from tensorcore.bench.runner import run as run_benchmark
from tensorcore.data.datasets import load_digits
from tensorcore.keras import layers

EPOCHS, BATCH = 40, 32
CURVES = "demo_curves.png"


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def save_curves(history, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        ax.plot(history.history[metric], label=f"train {metric}")
        ax.plot(history.history[f"val_{metric}"], label=f"test {metric}")
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main():
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load_digits()
    x_train, x_test = x_train[..., None] / 16.0, x_test[..., None] / 16.0   # NHWC in [0, 1]
    model = keras.models.Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=x_train.shape[1:]),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    timer = EpochTimer()
    history = model.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH, verbose=2,
                        validation_data=(x_test, y_test), callbacks=[timer])
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"\ndigits, {len(x_train)} training / {len(x_test)} test images: test accuracy "
          f"{accuracy:.4f}, test loss {loss:.4f}; "
          f"{1e3 * statistics.median(timer.seconds):.0f} ms per epoch (median)")
    save_curves(history, CURVES)
    print(f"training curves saved to {CURVES}\n")
    print("CPU kernels against NumPy and PyTorch (quick run; `make bench` for the full one):")
    print(format_report(run_benchmark(device="cpu", quick=True)))


if __name__ == "__main__":
    main()
