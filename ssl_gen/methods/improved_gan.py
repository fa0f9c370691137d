"""Improved-GAN (Salimans et al., 2016), feature-matching variant, learned from openai/improved-gan
(`train_mnist_feature_matching.py`).

The classifier C is the discriminator: its K logits l(x) give P(y|x), and D(x) = σ(logsumexp l(x)) tells
unlabeled images from G's. G learns by feature matching on C's last hidden layer. The anchors' G is
unconditional; here G(z, y) takes a label, and `--generator_classification_weight` (ramped in after
`--warmup_steps`) adds C's cross-entropy on G's samples so that G follows its label. With that weight at 0
G ignores y and `generate` samples must be labelled by `classify`.
The classifier used for evaluation and export is an exponential moving average of C.

`TripleGan` extends this class with a discriminator on image–label pairs.
"""

import tensorflow as tf

from ssl_gen import architectures, augment, distribute, losses, optim
from ssl_gen.methods.base import Method, UpdateTape, apply_gradients, named_losses, step_seeds


# Folded into a view's seeds for its cutout and elastic field; views are small integers, so none equals one.
CUTOUT_SALT = 1_000_003
ELASTIC_SALT = 1_000_081


class ImprovedGan(Method):
    # The second unlabeled view is G's feature-matching target, as improved-gan's `trainx_unl2`.
    unlabeled_views = 2
    collapse_loss = "loss/classifier/unsupervised"
    latent_center = 0.5  # z ~ U(0, 1)^d

    def __init__(self, config, spec, total_steps):
        super().__init__(config, spec, total_steps)
        seed = config.seed
        self.classifier = architectures.classifier(config, spec, seed=seed * 7919 + 1)
        self.classifier_average = architectures.classifier(config, spec)
        self.generator = architectures.generator(config, spec, seed=seed * 7919 + 3)
        self.classifier_optimizer = optim.adam(config, total_steps)
        self.generator_optimizer = optim.adam(config, total_steps, self._gan_learning_rate(),
                                              beta_1=config.generator_adam_beta1)
        self.average = optim.WeightAverage(self.classifier, self.classifier_average, config.ema_decay)

    def _gan_learning_rate(self):
        """G's (and a subclass's D's) Adam rate; None: --learning_rate, as in improved-gan."""
        return None

    @property
    def latent_dim(self):
        return self.config.latent_dim

    # --- construction -------------------------------------------------------------------------------
    def build(self):
        images = tf.zeros((2,) + tuple(self.spec.image_shape))
        labels = tf.zeros((2,), tf.int32)
        self.classifier(images)
        self.classifier_average(images)
        self.generator(self.sample_latents(2, 0), labels)
        for network, optimizer in self._updates():
            optimizer.build(network.trainable_variables)

    def initialize(self, unlabeled_images):
        """improved-gan's data-dependent weight-norm init of C (noise on), then copy C to its average."""
        self.classifier.logits_and_features(unlabeled_images, training=True, initialize=True)
        self.average.reset()

    @classmethod
    def generator_reads_tanh_scale(cls, config):
        return config.architecture == "mlp"  # the conv G has no tanh scale

    def adopt_generator_tanh_scale(self, trained_scale):
        self.generator.adopt_tanh_scale(trained_scale, self.generator_optimizer)

    def _updates(self):
        return ((self.classifier, self.classifier_optimizer), (self.generator, self.generator_optimizer))

    def checkpoint_items(self):
        return {"classifier": self.classifier, "classifier_average": self.classifier_average,
                "generator": self.generator, "classifier_optimizer": self.classifier_optimizer,
                "generator_optimizer": self.generator_optimizer}

    # --- inference ----------------------------------------------------------------------------------
    def classify(self, images):
        return tf.cast(self.classifier_average(images, training=False), tf.float32)

    def classify_without_average(self, images):
        """C's current weights; logged beside the average to show what averaging buys."""
        return tf.cast(self.classifier(images, training=False), tf.float32)

    def generate(self, labels, latents):
        return tf.cast(self.generator(latents, labels, training=False), tf.float32)

    def sample_latents(self, count, seed):
        # The anchors' prior: z ~ U(0, 1)^d.
        return tf.random.stateless_uniform([count, self.config.latent_dim], seed=[seed, 0])

    # --- training -----------------------------------------------------------------------------------
    def train_step(self, labeled, unlabeled):
        ramp = optim.linear_ramp(self.classifier_optimizer.iterations, self.config.warmup_steps,
                                 self.config.warmup_steps)
        # G's inputs come with the batch (data.generator_inputs): class-balanced labels, and the same
        # draws however the global batch is split over replicas.
        latents, generated_labels = unlabeled["latent"], unlabeled["generated_label"]
        # G's forward pass is cheap next to C's: it is run again under G's own tape below
        # (GradientTape.stop_recording pauses every tape, so the updates cannot nest).
        generated = tf.cast(self.generator(latents, generated_labels, training=True), tf.float32)
        independent = self.config.independent_generator_step
        if not independent:
            reference = self._reference(unlabeled["image2"])
        classifier_losses, unlabeled_logits = self._classifier_update(
            labeled, unlabeled, generated, generated_labels, ramp)
        if independent:
            reference = self._reference(unlabeled["image2"])
        between = self._between_updates(labeled, unlabeled, unlabeled_logits, reference, generated,
                                        generated_labels)
        generator_latents = unlabeled["latent2"] if independent else latents
        generator_losses = self._generator_update(generator_latents, generated_labels, reference, ramp)
        self.average.update(self.generator_optimizer.iterations)
        return {**named_losses("classifier", classifier_losses), **between,
                **named_losses("generator", generator_losses)}

    def _between_updates(self, labeled, unlabeled, unlabeled_logits, reference, generated,
                         generated_labels):
        """Extra updates after C's and before G's (Triple-GAN's D); returns named losses."""
        return {}

    def _classifier_pair_logits(self, unlabeled_images, unlabeled_logits):
        """D's logits on C's pairs when C learns through a pair discriminator; None here."""
        return None

    def _generator_pair_logits(self, generated, generated_labels):
        """D's logits on G's pairs when G learns through a pair discriminator; None here."""
        return None

    def _reference(self, images):
        """C's labels for a second real batch (D's real pairs) and its features (G's target)."""
        logits, features = self.classifier.logits_and_features(images, training=True)
        return {"labels": tf.argmax(logits, axis=1, output_type=tf.int32),
                "features": tf.stop_gradient(features)}

    def _classifier_update(self, labeled, unlabeled, generated, generated_labels, ramp):
        config = self.config
        consistency = config.unlabeled_consistency_weight > 0
        batches = [self._augment(labeled["image"]), unlabeled["image"], generated]
        # Only the labeled images are shifted for the supervised term: shifting all three batches alike
        # (a DiffAugment-style choice) let C tell G's images apart: on MNIST-100 its real/fake loss was
        # 0.0012 at step 2,000 (0.27 unshifted) and G's feature-matching loss 19.4, then 54.2 at 4,000
        # (0.94, 0.75 unshifted). The consistency copy of x_u enters no real/fake term.
        if consistency:
            batches.append(self._augment(unlabeled["image"], view=1))
        sizes = [tf.shape(batch)[0] for batch in batches]
        with UpdateTape() as tape:
            # One forward pass over all batches: fewer, larger matmuls are faster on a CPU.
            logits = tf.split(self.classifier(tf.concat(batches, 0), training=True), sizes)
            labeled_logits, unlabeled_logits, generated_logits = logits[:3]
            with tape.stop_recording():
                pair_logits = self._classifier_pair_logits(unlabeled["image"], unlabeled_logits)
            classifier_losses = losses.classifier_loss(
                labeled_logits, labeled["label"], unlabeled_logits, generated_logits, generated_labels,
                pair_logits, config.unsupervised_weight, ramp * config.classifier_adversarial_weight,
                ramp * config.classifier_generated_weight, config.class_balance_weight,
                entropy_weight=config.classifier_entropy_weight, batch_mean=distribute.global_batch_mean,
                transformed_unlabeled_logits=logits[3] if consistency else None,
                consistency_weight=config.unlabeled_consistency_weight,
                consistency_threshold=config.confidence_threshold)
        apply_gradients(tape, classifier_losses["total"], self.classifier, self.classifier_optimizer)
        return classifier_losses, tf.stop_gradient(unlabeled_logits)

    def _augment(self, images, view=0):
        """--augment_* on C's images; `view` 0 is the labeled batch, 1 the unlabeled consistency copy,
        which --consistency_cutout also erases a square from."""
        config = self.config
        cutout = config.consistency_cutout if view else 0
        if not (config.augment_shift or config.augment_rotation or config.augment_scale or cutout
                or config.augment_elastic):
            return images
        # The labeled view keeps the seeds it had before the other views existed, so older runs reproduce.
        (shift_seed,) = step_seeds(self.classifier_optimizer.iterations, 1)
        # Negative second words never collide with step_seeds' [step, replica·count + k] of any replica.
        affine_seed = tf.stack([shift_seed[0], -1 - shift_seed[1]])
        if view:
            shift_seed, affine_seed = (tf.random.experimental.stateless_fold_in(seed, view)
                                       for seed in (shift_seed, affine_seed))
        if config.augment_elastic:
            elastic_seed = tf.random.experimental.stateless_fold_in(affine_seed, ELASTIC_SALT)
            images = augment.random_elastic(images, config.augment_elastic, elastic_seed)
        images = augment.random_affine(images, config.augment_rotation, config.augment_scale, affine_seed)
        images = augment.random_shift(images, config.augment_shift, shift_seed)
        if cutout:
            cutout_seed = tf.random.experimental.stateless_fold_in(shift_seed, CUTOUT_SALT)
            images = augment.cutout(images, cutout, cutout_seed, fill=-1.0)
        return images

    def _generator_update(self, latents, generated_labels, reference, ramp):
        config = self.config
        with UpdateTape() as tape:
            generated = tf.cast(self.generator(latents, generated_labels, training=True), tf.float32)
            pair_logits = self._generator_pair_logits(generated, generated_labels)
            logits, features = self.classifier.logits_and_features(generated, training=True)
            generator_losses = losses.generator_loss(
                pair_logits, features, reference["features"], logits, generated_labels,
                ramp * config.generator_adversarial_weight, config.generator_feature_matching_weight,
                ramp * config.generator_classification_weight, batch_mean=distribute.global_batch_mean)
        apply_gradients(tape, generator_losses["total"], self.generator, self.generator_optimizer)
        return generator_losses
