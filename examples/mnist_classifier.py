"""The PyTorch MNIST example with ``import tensorcore as tc``: two convolutions, max pooling,
dropout and two linear layers, trained with a DataLoader loop. MNIST when its files are
present (or downloadable), scikit-learn's 8x8 digits otherwise."""
import sys
import time

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import nn, optim
from tensorcore.data import DataLoader, TensorDataset

from _data import images


class Net(nn.Module):
    def __init__(self, image_size):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        pooled = (image_size - 4) // 2
        self.fc1 = nn.Linear(64 * pooled * pooled, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = self.dropout1(F.max_pool2d(x, 2))
        x = self.dropout2(F.relu(self.fc1(tc.flatten(x, 1))))
        return F.log_softmax(self.fc2(x), axis=1)


def evaluate(model, loader):
    model.eval()
    correct = 0
    with tc.no_grad():
        for x, y in loader:
            correct += int((model(x).argmax(axis=1) == y).sum().item())
    return correct / len(loader.dataset)


def main(epochs=5, limit=None, prefer_mnist=True, seed=0):
    tc.manual_seed(seed)
    (x_train, y_train), (x_test, y_test), name = images(prefer_mnist, limit=limit)
    train = DataLoader(TensorDataset(x_train[:, None], y_train), batch_size=64, shuffle=True)
    test = DataLoader(TensorDataset(x_test[:, None], y_test), batch_size=1000)
    model = Net(x_train.shape[-1])
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    accuracy = 0.0
    for epoch in range(1, epochs + 1):
        model.train()
        start = time.perf_counter()
        for x, y in train:
            optimizer.zero_grad()
            loss = F.nll_loss(model(x), y)
            loss.backward()
            optimizer.step()
        scheduler.step()
        accuracy = evaluate(model, test)
        print(f"epoch {epoch}: loss {loss.item():.4f}, test accuracy {accuracy:.4f} "
              f"({time.perf_counter() - start:.1f} s)")
    print(f"{name}: test accuracy {accuracy:.4f}")
    return model, accuracy


if __name__ == "__main__":
    main(epochs=int(sys.argv[1]) if len(sys.argv) > 1 else 5)
