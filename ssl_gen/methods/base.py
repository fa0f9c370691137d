"""The interface every method implements; the trainer, evaluation and export use nothing else."""

import abc

import tensorflow as tf


class Method(abc.ABC):
    """A semi-supervised generative model: networks, optimisers, losses and one train step.

    Batches are dicts: labeled {"image": [B,H,W,C] float32 in [-1, 1], "label": int32 [B]},
    unlabeled {"image": …, "image2": …} with `unlabeled_views` independent image batches.
    """

    unlabeled_views = 1
    # With a latent size, unlabeled batches also carry G's inputs "latent" [B, latent_dim] ~ U(0, 1)
    # and "generated_label" [B] (see ssl_gen.data.pipeline.generator_inputs).
    latent_dim = None
    # The centre of the latent prior (its mean), toward which `sampling.ShrunkLatents` pulls latents;
    # None: the method does not say, and cannot be sampled that way.
    latent_center = None
    # A loss that falls to ~0 when the GAN game collapses (the trainer stops the run then); None: no check.
    collapse_loss = None

    def __init__(self, config, spec, total_steps):
        self.config, self.spec, self.total_steps = config, spec, total_steps

    @abc.abstractmethod
    def build(self):
        """Creates every variable (networks and optimiser slots), so a checkpoint can be restored."""

    @abc.abstractmethod
    def initialize(self, unlabeled_images):
        """Fresh-start initialisation from a batch of data (not called when resuming)."""

    @abc.abstractmethod
    def train_step(self, labeled, unlabeled):
        """One joint update on one replica; returns {"loss/…": scalar}."""

    @abc.abstractmethod
    def classify(self, images):
        """Logits [B, K] of the model used for evaluation (e.g. the weight average)."""

    @abc.abstractmethod
    def generate(self, labels, latents):
        """Images [B, H, W, C] in [-1, 1] for int labels [B] and latents from `sample_latents`."""

    @abc.abstractmethod
    def sample_latents(self, count, seed):
        """Latents for `generate`, deterministic in the int seed."""

    @abc.abstractmethod
    def checkpoint_items(self):
        """{name: trackable} — everything that must survive a restart."""

    @classmethod
    def generator_reads_tanh_scale(cls, config):
        """Whether G's output is tanh(scale·a) (networks.Generator), so the scale may change on resume.

        Asked before config.json is rewritten: a change the method cannot adopt is refused with the
        run directory untouched.
        """
        return False

    def adopt_generator_tanh_scale(self, trained_scale):
        """Called on resume when --generator_tanh_scale changed: keep G's function (networks.Generator)."""
        raise NotImplementedError(f"{type(self).__name__} says its G reads the tanh scale but cannot adopt "
                                  "a new one")


def apply_gradients(tape, loss, network, optimizer):
    """One network's update from its own tape, correct under any tf.distribute strategy.

    Each replica's loss is a mean over its share of the batch; dividing its gradients by the replica
    count makes the optimizer's cross-replica sum the gradient of the global-batch mean.
    """
    replicas = tf.distribute.get_replica_context().num_replicas_in_sync
    variables = network.trainable_variables
    gradients = tape.gradient(loss, variables)
    if replicas > 1:
        gradients = [_divided(gradient, replicas) for gradient in gradients]
    optimizer.apply_gradients(zip(gradients, variables))


def _divided(gradient, replicas):
    # A lookup (the class-conditional batch norm's tf.gather) gives sparse IndexedSlices gradients.
    if isinstance(gradient, tf.IndexedSlices):
        return tf.IndexedSlices(gradient.values / replicas, gradient.indices, gradient.dense_shape)
    return gradient / replicas


def step_seeds(iterations, count):
    """`count` stateless seed pairs [step, replica·count + k]: new each step, distinct per replica."""
    step = tf.cast(iterations, tf.int32)
    replica = tf.distribute.get_replica_context().replica_id_in_sync_group
    return [tf.stack([step, replica * count + k]) for k in range(count)]


def named_losses(network, components):
    """{"total": t, "x": v} → {"loss/NETWORK": t, "loss/NETWORK/x": v}."""
    named = {f"loss/{network}": components["total"]}
    named.update({f"loss/{network}/{name}": value for name, value in components.items() if name != "total"})
    return named
