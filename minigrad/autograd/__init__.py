"""Reverse-mode automatic differentiation on a tape.

  - Function (function.py): an op's forward and backward; applying one to inputs
    that need gradients records it as a node.
  - engine.py: the backward pass, walking recorded nodes latest-first.
  - Tape (tape.py): capture and print the operations of a block.
  - gradcheck / gradgradcheck (gradcheck.py): finite-difference checks.
"""
from minigrad.autograd.function import Function  # noqa: F401
from minigrad.autograd.grad_mode import (  # noqa: F401
    enable_grad, is_grad_enabled, no_grad, set_grad_enabled)
from minigrad.autograd.tape import Profile, Tape  # noqa: F401
from minigrad.autograd.gradcheck import gradcheck, gradgradcheck  # noqa: F401


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of `outputs` with respect to `inputs`, returned as a tuple (no `.grad`
    is touched).  grad_outputs: d(loss)/d(output) per output (None: ones for scalars).
    create_graph=True records the backward pass, for higher derivatives."""
    from minigrad.autograd.engine import run_backward
    from minigrad.ops.common import implicit_grad
    from minigrad.tensor import Tensor
    single = isinstance(inputs, Tensor)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("grad: one of the inputs does not require grad")
    for t in outputs:
        if not t.requires_grad:
            raise RuntimeError("grad: one of the outputs does not require grad and has no grad_fn")
    seeds = [implicit_grad(o, g, "grad") for o, g in zip(outputs, grad_outputs)]
    if retain_graph is None:
        retain_graph = create_graph
    return run_backward(outputs, seeds, retain_graph, create_graph, inputs=inputs,
                        allow_unused=allow_unused)


def backward(tensors, grad_tensors=None, retain_graph=False, create_graph=False):
    """Tensor.backward for several outputs at once."""
    from minigrad.autograd.engine import run_backward
    from minigrad.ops.common import implicit_grad
    from minigrad.tensor import Tensor
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    grads = grad_tensors if grad_tensors is not None else [None] * len(tensors)
    if isinstance(grads, Tensor):
        grads = [grads]
    seeds = [implicit_grad(t, g, "backward") for t, g in zip(tensors, grads)]
    run_backward(tensors, seeds, retain_graph or create_graph, create_graph)
