"""The main job: train a small MLP written with tensorcore ops on real handwritten digits
(scikit-learn's bundled 8x8 digits, no download), report test accuracy, and show which kernel
variant ran for each op and how its time compares with the NumPy reference."""
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.bench.variants import against_reference, format_rows

EPOCHS, BATCH, LR, MOMENTUM = 40, 64, 0.05, 0.9
SIZES = (64, 128, 64, 10)     # 8x8 pixels -> two hidden layers -> 10 digits


def linear_parameters(n_in, n_out, rng):
    """PyTorch's default nn.Linear initialisation: U(-1/sqrt(n_in), 1/sqrt(n_in))."""
    bound = 1.0 / np.sqrt(n_in)
    weight = rng.uniform(-bound, bound, size=(n_out, n_in)).astype(np.float32)
    bias = rng.uniform(-bound, bound, size=n_out).astype(np.float32)
    return tc.tensor(weight, requires_grad=True), tc.tensor(bias, requires_grad=True)


def forward(params, x):
    *hidden, last = params
    for weight, bias in hidden:
        x = F.relu(F.linear(x, weight, bias))
    return F.linear(x, *last)


def train_epoch(params, velocities, x_train, y_train, rng):
    order = rng.permutation(len(x_train))
    flat = [p for pair in params for p in pair]
    for start in range(0, len(order), BATCH):
        batch = order[start:start + BATCH]
        loss = F.cross_entropy(forward(params, tc.tensor(x_train[batch])), tc.tensor(y_train[batch]))
        for p in flat:
            p.grad = None
        loss.backward()
        with tc.no_grad():           # SGD with momentum, written with tensor ops
            for i, p in enumerate(flat):
                velocities[i] = MOMENTUM * velocities[i] + p.grad
                p.data = p.data - LR * velocities[i]
    return loss.item()


def accuracy(params, x, y):
    with tc.no_grad():
        return float((forward(params, tc.tensor(x)).argmax(axis=1).numpy() == y).mean())


def main():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.25, random_state=0, stratify=digits.target)
    rng = np.random.default_rng(0)
    params = [linear_parameters(n_in, n_out, rng) for n_in, n_out in zip(SIZES, SIZES[1:])]
    velocities = [tc.zeros_like(p) for pair in params for p in pair]

    print(f"tensorcore {tc.__version__}: MLP {' -> '.join(map(str, SIZES))} on "
          f"{len(x_train)} training / {len(x_test)} test digits (8x8, scikit-learn)")
    start = time.perf_counter()
    for epoch in range(1, EPOCHS + 1):
        if epoch == EPOCHS:
            with tc.kernels.profile() as profile:
                loss = train_epoch(params, velocities, x_train, y_train, rng)
        else:
            loss = train_epoch(params, velocities, x_train, y_train, rng)
        if epoch % 10 == 0:
            print(f"epoch {epoch:3d}  loss {loss:.4f}  test accuracy "
                  f"{accuracy(params, x_test, y_test):.4f}")
    seconds = time.perf_counter() - start
    print(f"trained {EPOCHS} epochs in {seconds:.2f} s ({seconds / EPOCHS * 1e3:.1f} ms per epoch)")
    print(f"test accuracy: {accuracy(params, x_test, y_test):.4f}")

    print("\nKernels that ran in the last epoch (median time per call on its first arguments):")
    print(format_rows(against_reference(profile)))


if __name__ == "__main__":
    main()
