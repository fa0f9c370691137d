"""Named configurations. Values not listed keep Config's defaults (the joint method with the conditional
conv networks, 30,000 steps); flags given explicitly override them.

- consistency: for small grayscale images (MNIST, Fashion-MNIST) at any label count: the classifier game
  the default's C plays, alone: `--method=improved_gan` with the MLPs, its feature-matching game at its
  constant rate and 0.9999 weight average, C's labeled images shifted, rotated and scaled, and the
  masked consistency term on the unlabeled images; G's Adam without momentum (Bad GAN's G), a
  1,000-step rate warmup and G's output tanh(a/2), the anchors' sigmoid. docs/RESULTS.md gives its
  validation ablation.
- improved_gan_mnist: Improved-GAN's published MNIST-100 setting (openai/improved-gan
  `train_mnist_feature_matching.py`): the feature-matching game, constant rate 3e-3, 0.9999 weight
  average, 138,000 steps. G ignores the label.
- m2_mnist: `--method=ssvae_m2` with the M2 paper's MNIST networks and optimiser
  (dpkingma/nips14-ssl).
- svhn1000 / cifar4000: the anchors' conv nets and their CIFAR-10 optimisation (improved-gan
  `train_cifar_feature_matching.py`: Adam 3e-4, β1 0.5, input noise 0.2 on [-1, 1] images, 1,200 epochs,
  the last third with linear decay); SVHN reuses it with 400 epochs (our choice, not an anchor's).
"""

from ssl_gen.errors import ConfigError

_CONV = dict(architecture="conv", generator_channels=(512, 256, 128), input_noise=0.2, learning_rate=3e-4,
             adam_epsilon=1e-8, lr_decay_start=2 / 3, lr_warmup_steps=0, batch_size=100, eval_every=5000,
             checkpoint_every=2500, warmup_steps=50000)

# Improved-GAN's game as its code plays it: no D(x, y), a constant rate, C's weights averaged.
_FEATURE_MATCHING = dict(method="improved_gan", architecture="mlp", lr_decay_start=1.0, ema_decay=0.9999,
                         independent_generator_step=True)

PRESETS = {
    "consistency": dict(_FEATURE_MATCHING, augment_shift=2, augment_rotation=15.0, augment_scale=0.1,
                        unlabeled_consistency_weight=1.0, confidence_threshold=0.95, generator_adam_beta1=0.0,
                        lr_warmup_steps=1000, generator_tanh_scale=0.5, train_steps=30000),
    "improved_gan_mnist": dict(_FEATURE_MATCHING, dataset="mnist", num_labeled=100, train_steps=138000,
                               lr_warmup_steps=0, generator_tanh_scale=1.0),
    "m2_mnist": dict(dataset="mnist", num_labeled=100, method="ssvae_m2", architecture="mlp", latent_dim=50,
                     classifier_units=(500,), encoder_units=(500,), generator_units=(500,),
                     learning_rate=3e-4, adam_beta1=0.9, adam_epsilon=1e-8, lr_decay_start=1.0,
                     lr_warmup_steps=0, train_steps=50000),
    "svhn1000": dict(_CONV, dataset="svhn_cropped", num_labeled=1000, epochs=400.0),
    "cifar4000": dict(_CONV, dataset="cifar10", num_labeled=4000, epochs=1200.0),
}


def get(name):
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return dict(PRESETS[name])
