"""A PyTorch-style GAN with ``import tensorcore as tc`` in place of torch: nn.Module generator
and discriminator, Adam(lr=0.0002, betas=(0.5, 0.999)), zero_grad / backward / step."""
import sys

import numpy as np

import tensorcore as tc
from tensorcore import nn, optim
from tensorcore.data import DataLoader, TensorDataset

from _data import images

LATENT = 64


class Generator(nn.Module):
    def __init__(self, pixels):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(LATENT, 128), nn.LeakyReLU(0.2),
            nn.Linear(128, 256), nn.BatchNorm1d(256), nn.LeakyReLU(0.2),
            nn.Linear(256, pixels), nn.Tanh())

    def forward(self, z):
        return self.model(z)


class Discriminator(nn.Module):
    def __init__(self, pixels):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(pixels, 256), nn.LeakyReLU(0.2),
            nn.Linear(256, 128), nn.LeakyReLU(0.2),
            nn.Linear(128, 1), nn.Sigmoid())

    def forward(self, x):
        return self.model(x)


def main(epochs=30, batch_size=64, limit=None, seed=0):
    tc.manual_seed(seed)
    (x_train, _), _, name = images(prefer_mnist=False, limit=limit)
    x_train = x_train.reshape(len(x_train), -1) * 2 - 1                  # pixels in [-1, 1]
    loader = DataLoader(TensorDataset(x_train), batch_size=batch_size, shuffle=True, drop_last=True)
    G, D = Generator(x_train.shape[1]), Discriminator(x_train.shape[1])
    adversarial_loss = nn.BCELoss()
    optimizer_G = optim.Adam(G.parameters(), lr=0.0002, betas=(0.5, 0.999))
    optimizer_D = optim.Adam(D.parameters(), lr=0.0002, betas=(0.5, 0.999))

    history = []
    for epoch in range(epochs):
        for (real,) in loader:
            valid, fake = tc.ones(real.shape[0], 1), tc.zeros(real.shape[0], 1)
            z = tc.randn(real.shape[0], LATENT)

            optimizer_G.zero_grad()
            generated = G(z)
            g_loss = adversarial_loss(D(generated), valid)
            g_loss.backward()
            optimizer_G.step()

            optimizer_D.zero_grad()
            real_loss = adversarial_loss(D(real), valid)
            fake_loss = adversarial_loss(D(generated.detach()), fake)
            d_loss = (real_loss + fake_loss) / 2
            d_loss.backward()
            optimizer_D.step()
            history.append((d_loss.item(), g_loss.item()))
        print(f"[epoch {epoch + 1}/{epochs}] [D loss: {d_loss.item():.4f}] "
              f"[G loss: {g_loss.item():.4f}]")
    print(f"GAN on {name}: {epochs} epochs")
    return G, D, np.array(history)


if __name__ == "__main__":
    main(epochs=int(sys.argv[1]) if len(sys.argv) > 1 else 30)
