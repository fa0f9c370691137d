"""Weight norm's gradient through ‖v‖, taken once per network update instead of once per forward pass.

A weight-normed layer computes (x·v)·g/‖v‖. Left to the tape, the path through ‖v‖ costs each forward
pass a [fan_in, units] tensor v·c (c per column) and a sum of it with the matmul's gradient, plus a
dozen small ops; on the default MNIST step that was ~10 % of the step (docs/RESULTS.md, throughput).
Under an `UpdateTape`, a layer's norms are cut from v and watched instead, so the tape gives dL/d‖v‖, a
vector; `UpdateTape.network_gradients` then adds v·Σ_p (dL/d‖v‖_p)/‖v‖_p to v's gradient in one pass,
which is exact: dL/dv = ∂L/∂v|_‖v‖ + Σ_p (∂L/∂‖v‖_p)·v/‖v‖_p.

Under a plain tf.GradientTape (or none) the layers keep the ordinary path, so their gradients are right
for any caller.
"""

import threading

import tensorflow as tf

from ssl_gen import native

_state = threading.local()


class UpdateTape(tf.GradientTape):
    """A tf.GradientTape for one network's update; take its gradients with `network_gradients`.

    While open, the weight-normed layers it records leave their norms' gradient path to it."""

    def __init__(self, persistent=False):
        super().__init__(persistent=persistent)
        self.norms = []  # (direction variable, its column norms in one forward pass)

    def __enter__(self):
        tape = super().__enter__()
        _open_tapes().append(self)
        return tape

    def __exit__(self, *exception):
        _open_tapes().remove(self)
        return super().__exit__(*exception)

    def network_gradients(self, loss, variables):
        """dL/dv for each of `variables`, the path through any norms recorded for them restored."""
        return _gradients(self, loss, variables)


def column_norms(direction, compute):
    """`compute(direction)`, the norms of a layer's forward pass; under open UpdateTapes, cut from
    `direction` and watched by each of them (each then owes the cut path, so each records it)."""
    tapes = _open_tapes()
    if not tapes:
        return compute(direction)
    norms = tf.stop_gradient(compute(direction))
    for tape in tapes:
        tape.watch(norms)
        tape.norms.append((direction, norms))
    return norms


def _gradients(tape, loss, variables):
    variables = list(variables)
    position = {id(variable): index for index, variable in enumerate(variables)}
    own = [(position[id(direction)], norms) for direction, norms in tape.norms
           if id(direction) in position]
    results = tape.gradient(loss, variables + [norms for _, norms in own])
    grads, norm_grads = list(results[:len(variables)]), results[len(variables):]
    column_scales = {}
    for (index, norms), norm_grad in zip(own, norm_grads):
        if norm_grad is not None:
            # Under mixed precision the layer saw a bfloat16 copy of v, so its norms are bfloat16.
            term = tf.cast(norm_grad / norms, variables[index].dtype)
            column_scales[index] = column_scales[index] + term if index in column_scales else term
    for index, scales in column_scales.items():
        grads[index] = native.add_scaled_columns(grads[index], variables[index], scales)
    return grads


def _open_tapes():
    if not hasattr(_state, "tapes"):
        _state.tapes = []
    return _state.tapes
