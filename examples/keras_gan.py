"""The classic Keras GAN (as in the Keras-GAN collection): a Dense generator and
discriminator; the discriminator is compiled, then frozen inside the stacked model, so
``combined.train_on_batch`` updates only the generator while ``discriminator.train_on_batch``
still updates the discriminator."""
import sys

import numpy as np

from tensorcore import keras
from tensorcore.keras.layers import BatchNormalization, Dense, LeakyReLU
from tensorcore.keras.models import Model, Sequential
from tensorcore.keras.optimizers import Adam

from _data import images

LATENT = 64


def build_generator(pixels):
    return Sequential([
        Dense(128, input_dim=LATENT), LeakyReLU(alpha=0.2), BatchNormalization(momentum=0.8),
        Dense(256), LeakyReLU(alpha=0.2), BatchNormalization(momentum=0.8),
        Dense(pixels, activation="tanh"),
    ])


def build_discriminator(pixels):
    return Sequential([
        Dense(256, input_dim=pixels), LeakyReLU(alpha=0.2),
        Dense(128), LeakyReLU(alpha=0.2),
        Dense(1, activation="sigmoid"),
    ])


def main(steps=2000, batch_size=64, limit=None, report_every=200, seed=0):
    (x_train, _), _, name = images(prefer_mnist=False, limit=limit)
    x_train = x_train.reshape(len(x_train), -1) * 2 - 1                  # pixels in [-1, 1]
    pixels = x_train.shape[1]
    optimizer = Adam(0.0002, 0.5)

    discriminator = build_discriminator(pixels)
    discriminator.compile(loss="binary_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    generator = build_generator(pixels)
    z = keras.Input(shape=(LATENT,))
    discriminator.trainable = False          # frozen in the stacked model only
    combined = Model(z, discriminator(generator(z)))
    combined.compile(loss="binary_crossentropy", optimizer=optimizer)

    rng = np.random.default_rng(seed)
    valid, fake = np.ones((batch_size, 1)), np.zeros((batch_size, 1))
    losses = []
    for step in range(steps):
        real = x_train[rng.integers(0, len(x_train), batch_size)]
        noise = rng.normal(0, 1, (batch_size, LATENT)).astype(np.float32)
        generated = generator.predict(noise)
        d_loss_real = discriminator.train_on_batch(real, valid)
        d_loss_fake = discriminator.train_on_batch(generated, fake)
        d_loss = 0.5 * np.add(d_loss_real, d_loss_fake)
        g_loss = combined.train_on_batch(noise, valid)
        losses.append((d_loss[0], d_loss[1], g_loss))
        if report_every and step % report_every == 0:
            print(f"{step} [D loss: {d_loss[0]:.4f}, acc.: {100 * d_loss[1]:.1f}%] "
                  f"[G loss: {g_loss:.4f}]")
    print(f"GAN on {name}: {steps} steps")
    return generator, discriminator, np.array(losses)


if __name__ == "__main__":
    main(steps=int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
