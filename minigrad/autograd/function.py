"""Function: one differentiable op, its forward and its backward side by side.

Applying a Function to inputs that need gradients *records* it: the Function
instance becomes a node of the tape.  It remembers

  - `seq`, its place in the recording (every node gets the next number, so
    a node's inputs were always recorded before it: walking nodes by
    decreasing `seq` is a valid backward order, with no recursion),
  - `inputs`, one edge per Tensor argument: the leaf Tensor itself when it is
    a leaf that requires grad, `(node, output_index)` when it was computed by
    a recorded op, or None when no gradient flows there,
  - what its backward needs (saved inputs, outputs, arrays), released after
    backward unless `retain_graph=True`.

A subclass writes

    forward(self, *args)   -> array or tuple of arrays, computed with kernels
                              on the Tensor arguments' arrays (`t.data_array`)
    backward(self, *grads) -> one gradient (Tensor or None) per Tensor argument

`backward` is written with Tensor ops, so with `create_graph=True` the
backward pass is itself recorded and can be differentiated again.
"""
import itertools
import time

from minigrad.autograd import grad_mode

_sequence = itertools.count(1)
# Observers of recording: Tape objects (see tape.py) and profilers.
active_tapes = []
active_profilers = []

# Filled in by minigrad.tensor (the two modules refer to each other).
Tensor = None

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or to read saved tensors after they "
    "were freed). Saved values are freed when you call .backward() or autograd.grad(); pass "
    "retain_graph=True to the first call if you need to backward through the graph again.")


class Function:
    save_outputs = False  # keep the forward outputs for backward (read with self.output(i))
    is_view = False       # the outputs share storage (and so the version counter) with input 0
    out_device = None     # set by forward when the outputs live elsewhere than the inputs

    @classmethod
    def apply(cls, *args):
        """Run forward on `args`; record the op when grad mode is on and an input requires grad."""
        fn = cls.__new__(cls)
        device = "cpu"
        record = False
        for a in args:
            if isinstance(a, Tensor):
                device = a.device
                if a.requires_grad:
                    record = grad_mode._enabled[0]
                    break
        if not record:
            # nothing will read what forward saves: under no_grad, in a backward pass
            # (whose ops run unrecorded), on inputs that need no gradient
            fn.recording = False
        if active_profilers:
            start = time.perf_counter()
            result = fn.forward(*args)
            for p in active_profilers:
                p.add(cls.__name__, time.perf_counter() - start)
        else:
            result = fn.forward(*args)
        if fn.out_device is not None:  # a copy to another device
            device = fn.out_device
        if type(result) is tuple:
            outs = tuple([Tensor._wrap(r, device) for r in result])
            if cls.is_view:
                for out in outs:
                    out._version = args[0]._version
            if record:
                fn._record(args, outs)
            return outs
        out = Tensor._wrap(result, device)
        if cls.is_view:
            out._version = args[0]._version
        if record:
            fn._record(args, (out,))
        return out

    # Defaults of a recorded node, overridden per instance only when used.
    recording = True   # False (set by apply) when the op will not be recorded
    saved = ()         # (tensor, its version when saved) pairs, from save_for_backward
    released = False
    out_hooks = None   # {output index: [hook, ...]}, from Tensor.register_hook
    retained = None    # {output index: weakref to Tensor}, from Tensor.retain_grad
    input_ids = None   # tensor ids of inputs and outputs, kept while a Tape is recording
    output_ids = None

    def _record(self, args, outs):
        self.seq = next(_sequence)
        self.device = outs[0].device
        edges = []
        for a in args:
            if isinstance(a, Tensor):
                node = a._node
                if node is not None:
                    edges.append((node, a._out_index))
                else:
                    edges.append(a if a.requires_grad else None)
        self.inputs = tuple(edges)
        self.out_meta = tuple([(o._array.shape, o._array.dtype) for o in outs])
        for i, out in enumerate(outs):
            out._node = self
            out._out_index = i
            out.requires_grad = True
        if self.save_outputs:
            self._outputs = tuple([(o._array, o._version, o._version[0]) for o in outs])
        if active_tapes:
            self.input_ids = tuple([a._id for a in args if isinstance(a, Tensor)])
            self.output_ids = tuple([o._id for o in outs])
            for tape in active_tapes:
                tape.nodes.append(self)

    # ---- what forward keeps for backward --------------------------------

    def save_for_backward(self, *tensors):
        """Keep input tensors for backward; an in-place change to one is detected.
        (Nothing is kept when the op is not recorded.)"""
        if self.recording:
            self.saved = tuple([(t, t._version[0]) for t in tensors])

    @property
    def saved_tensors(self):
        if getattr(self, "released", False):
            raise RuntimeError(FREED_MESSAGE)
        for t, version in self.saved:
            if t._version[0] != version:
                raise RuntimeError(_version_message(self, t, version))
        return tuple(t for t, _ in self.saved)

    def output(self, i=0):
        """Forward output `i` as a Tensor; under create_graph it stays connected to this node."""
        if self.released:
            raise RuntimeError(FREED_MESSAGE)
        array, box, version = self._outputs[i]
        out = Tensor._wrap(array, self.device)
        out._version = box
        if box[0] != version:
            raise RuntimeError(_version_message(self, out, version))
        if grad_mode._enabled[0]:
            out._node, out._out_index, out.requires_grad = self, i, True
        return out

    def release(self):
        """Drop everything saved for backward (called after backward without retain_graph)."""
        self.released = True
        self.saved = ()
        self._outputs = None
        self.release_extra()

    def release_extra(self):
        """Ops that keep other arrays for backward drop them here."""

    # ---- description -----------------------------------------------------

    @property
    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name} node #{getattr(self, 'seq', '?')}>"


def _version_message(node, t, version):
    return (f"one of the tensors needed for gradient computation has been modified by an in-place "
            f"operation: the {t.dtype}{list(t.shape)} tensor saved by {node.name} is at version "
            f"{t._version[0]}; expected version {version} instead.")
