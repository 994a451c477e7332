"""The backward pass: walk the recorded nodes in reverse order.

Every node carries `seq`, its position in the recording.  A node's inputs were
recorded before it, so visiting the nodes reachable from the outputs in order of
decreasing `seq` meets each node only after every consumer of its outputs has
handed it a gradient.  No recursion, no dependency counting: a 100,000-op chain
is a loop of 100,000 steps.
"""
import time

from minigrad.autograd import function, grad_mode
from minigrad.autograd.deferred import DeferredProduct

NOT_USED_MESSAGE = ("One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior.")


def run_backward(outputs, grad_outputs, retain_graph=False, create_graph=False,
                 inputs=None, allow_unused=False):
    """Backpropagate `grad_outputs` from `outputs`.

    Without `inputs`: accumulate into `.grad` of the leaves (Tensor.backward).
    With `inputs`: return their gradients and touch no `.grad` (autograd.grad).
    """
    wanted = _Wanted(inputs) if inputs is not None else None
    pending = _Pending()  # node -> [gradient of each output, or None]

    with grad_mode.set_grad_enabled(create_graph):
        for out, grad in zip(outputs, grad_outputs):
            _deliver(_edge_of(out), grad, pending, wanted, create_graph)

        profilers = function.active_profilers
        for node in _reverse_order(pending):
            if node.released:
                raise RuntimeError(function.FREED_MESSAGE)
            grads = pending.pop(node, None)
            if grads is not None:
                if node.out_hooks or node.retained:
                    grads = _run_output_hooks(node, grads, create_graph)
                if wanted is not None:
                    wanted.take_node_grads(node, grads)
                start = time.perf_counter() if profilers else 0.0
                input_grads = node.backward(*grads)
                if profilers:
                    for p in profilers:
                        p.add(node.name + " (backward)", time.perf_counter() - start)
                if type(input_grads) is not tuple:
                    input_grads = (input_grads,)
                if len(input_grads) != len(node.inputs):
                    raise RuntimeError(f"{node.name}.backward returned {len(input_grads)} gradients "
                                       f"for {len(node.inputs)} inputs")
                for edge, g in zip(node.inputs, input_grads):
                    if edge is not None and g is not None:
                        _deliver(edge, g, pending, wanted, create_graph, node)
            if not retain_graph:
                node.release()

    if wanted is not None:
        return wanted.results(allow_unused)
    return None


def _edge_of(t):
    if t._node is not None:
        return (t._node, t._out_index)
    return t


def _reverse_order(pending):
    """Every node reachable from the pending ones, latest recorded first."""
    seen = set(pending)
    stack = list(pending)
    while stack:
        node = stack.pop()
        for edge in node.inputs:
            if type(edge) is tuple and edge[0] not in seen:
                seen.add(edge[0])
                stack.append(edge[0])
    return sorted(seen, key=lambda n: n.seq, reverse=True)


def _deliver(edge, grad, pending, wanted, create_graph, producer=None):
    """Hand `grad` to a node output (summing contributions) or to a leaf."""
    if type(edge) is tuple:
        node, index = edge
        shape = node.out_meta[index][0]
        if grad.shape != shape:
            _shape_error(producer, grad, shape)
        pending.add(node, index, grad, create_graph)
        return
    leaf = edge
    if grad.shape != leaf.shape:
        _shape_error(producer, grad, leaf.shape)
    fresh = False  # whether `grad` is a new tensor that nothing else holds
    if type(grad) is DeferredProduct and (wanted is not None or leaf._hooks
                                          or leaf.grad is None):
        grad, fresh = grad.materialize(), True
    if wanted is not None:
        wanted.take_leaf_grad(leaf, grad)
        return
    for hook in leaf._hooks or ():
        replaced = hook(grad)
        if replaced is not None:
            grad, fresh = replaced, False
    if leaf.grad is None:
        # Own the buffer: `grad` may be shared with other leaves (a + b hands the
        # same gradient to both), and optimizers or clipping change .grad in place.
        leaf.grad = grad if create_graph or fresh else _own_copy(grad)
    elif create_graph:
        leaf.grad = leaf.grad + grad
    elif type(grad) is DeferredProduct:
        grad.add_into(leaf.grad)
    else:
        leaf.grad.add_(grad.detach())


class _Pending(dict):
    """node -> [the summed gradient of each of its outputs, or None so far].

    A gradient handed over may be shared (a + b hands the same one to both
    inputs), so the first sum is a new tensor; that tensor is ours alone, and
    later contributions are added into it in place -- an RNN weight used at
    every time step collects T gradients into one buffer instead of T new
    ones.  A DeferredProduct (a weight's gradient h^T g, from a backward that ends in a
    matrix product) is computed into a new tensor of ours when it comes first, and
    summed in by the gemm itself (beta = 1) when the sum is ours already.  With
    create_graph the sums are recorded ops instead."""

    def __init__(self):
        super().__init__()
        self.owned = set()  # (node, index) whose sum was allocated here

    def add(self, node, index, grad, create_graph):
        slots = self.get(node)
        if slots is None:
            slots = self[node] = [None] * len(node.out_meta)
        current = slots[index]
        if type(grad) is DeferredProduct:
            if (node, index) in self.owned:
                grad.add_into(current)
                return
            product = grad.materialize()
            if current is not None:
                product.add_(current)
            slots[index] = product
            self.owned.add((node, index))
        elif current is None:
            slots[index] = grad
        elif create_graph:
            slots[index] = current + grad
        elif (node, index) in self.owned:
            current.add_(grad)
        else:
            slots[index] = current + grad
            self.owned.add((node, index))


def _own_copy(t):
    """A detached contiguous copy of `t` (made by the C copy kernel)."""
    from minigrad.ops.common import kernels
    from minigrad.tensor import Tensor
    k, array = kernels(t), t._array
    return Tensor._wrap(k.copy_into(array, k.empty(array.shape, array.dtype)), t.device)


def _run_output_hooks(node, grads, create_graph):
    """Tensor hooks and retain_grad of a non-leaf run once its gradient is complete."""
    if node.out_hooks:
        grads = list(grads)
        for index, hooks in node.out_hooks.items():
            for hook in hooks:
                if grads[index] is not None:
                    replaced = hook(grads[index])
                    if replaced is not None:
                        grads[index] = replaced
    if node.retained:
        for index, ref in node.retained.items():
            t = ref()
            if t is not None and grads[index] is not None:
                g = grads[index] if create_graph else grads[index].detach()
                t.grad = g if t.grad is None else t.grad + g
    return grads


def _shape_error(producer, grad, shape):
    who = producer.name if producer is not None else "backward"
    raise RuntimeError(f"{who} produced a gradient of shape {list(grad.shape)} for an input of "
                       f"shape {list(shape)}")


class _Wanted:
    """The inputs of autograd.grad and the gradients collected for them."""

    def __init__(self, inputs):
        self.inputs = inputs
        self.grads = [None] * len(inputs)
        self.leaf_slots = {}
        self.node_slots = {}
        for i, t in enumerate(inputs):
            if t._node is None:
                self.leaf_slots.setdefault(id(t), []).append(i)
            else:
                self.node_slots.setdefault((t._node, t._out_index), []).append(i)

    def take_leaf_grad(self, leaf, grad):
        for i in self.leaf_slots.get(id(leaf), ()):
            self.grads[i] = grad if self.grads[i] is None else self.grads[i] + grad

    def take_node_grads(self, node, grads):
        for index, g in enumerate(grads):
            for i in self.node_slots.get((node, index), ()):
                self.grads[i] = g

    def results(self, allow_unused):
        if not allow_unused and any(g is None for g in self.grads):
            raise RuntimeError(NOT_USED_MESSAGE)
        return tuple(self.grads)
