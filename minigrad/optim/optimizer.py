"""Optimizer: parameter groups, per-parameter state, zero_grad and state dicts.

As in PyTorch: ``param_groups`` is a list of dicts, each with its ``params``
and its hyper-parameters (defaults filled in); ``state`` maps a parameter to
a dict of its buffers.  ``state_dict()`` names parameters by their position
(0, 1, ... across the groups), so a state dict loads into a fresh optimizer
built over the same parameters in the same order.

Subclasses implement ``_update(p, group, state)``: one fused C update of one
parameter, in place, by the kernel table of the parameter's device -- state
buffers are made on that device (on the first step), so a model moved to the
GPU keeps its optimizer state there.  A loaded state dict is copied to each
parameter's device.  ``step`` runs it under no_grad for every parameter that
has a gradient and bumps the parameter's version counter, so a backward that
saved the old values notices the change.
"""
import copy

from minigrad.autograd.grad_mode import enable_grad, no_grad
from minigrad.ops.common import kernels
from minigrad.tensor import Tensor


class _RequiredParameter:
    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class.  params: an iterable of Tensors, or of dicts (parameter groups) with
    a 'params' entry and per-group hyper-parameters; defaults: the hyper-parameters."""

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = {}
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        if isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add a group of parameters (a dict with 'params' and optional overrides)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter group contains the same parameter twice")
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all optimised parameters: to None (default) or zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad = p.grad.detach()
                    p.grad.zero_()

    def step(self, closure=None):
        """One update of every parameter that has a gradient.  closure: an optional
        function that re-evaluates the model and returns the loss (run with grad on)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    self._update(p, group, self.state.setdefault(p, {}))
                    p._version[0] += 1
        return loss

    def _update(self, p, group, state):
        raise NotImplementedError

    # ---- helpers for subclasses -------------------------------------------

    @staticmethod
    def _zeros_like(p, value=0.0):
        """A new state buffer of p's shape and dtype filled with `value`."""
        return Tensor._wrap(kernels(p).fill(p.shape, float(value), p.dtype), p.device)

    @staticmethod
    def _grad_array(p):
        g = p.grad
        if g.device != p.device:
            raise RuntimeError(f"the gradient of a parameter on {p.device} (shape "
                               f"{list(p.shape)}) is on {g.device}")
        if g.shape != p.shape:
            raise RuntimeError(f"the gradient of a parameter of shape {list(p.shape)} has shape "
                               f"{list(g.shape)}")
        if g.dtype != p.dtype:
            raise TypeError(f"the gradient of a {p.dtype} parameter has dtype {g.dtype}")
        return g._array

    # ---- state dict ----------------------------------------------------------

    def state_dict(self):
        """{'state': {index: {name: value}}, 'param_groups': [{..., 'params': [index]}]},
        parameters numbered by position across the groups.  Tensors are shared with the
        optimizer (copy them, or save them, before changing the optimizer)."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and self.state[p]:
                    state[index[id(p)]] = dict(self.state[p])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyper-parameters and state from state_dict().  Everything is
        checked (group and parameter counts, state shapes) before anything changes;
        state tensors are copied and cast to their parameter's dtype."""
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict \
                or "state" not in state_dict:
            raise ValueError("optimizer state dict must be a dict with 'state' and "
                             "'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, "
                             f"this optimizer has {len(self.param_groups)}")
        id_to_param = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"loaded state dict contains a parameter group {i} of "
                                 f"{len(saved['params'])} parameters that doesn't match the "
                                 f"size of optimizer's group ({len(group['params'])})")
            for key, p in zip(saved["params"], group["params"]):
                id_to_param[_index_key(key)] = p
        new_state = {}
        for key, values in state_dict["state"].items():
            p = id_to_param.get(_index_key(key))
            if p is None:
                raise ValueError(f"loaded optimizer state refers to parameter {key!r}, which no "
                                 f"parameter group holds")
            new_state[p] = {name: _state_value(name, v, p) for name, v in values.items()}
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            restored = copy.deepcopy({k: v for k, v in saved.items() if k != "params"})
            if isinstance(restored.get("betas"), list):  # JSON round trips give lists
                restored["betas"] = tuple(restored["betas"])
            restored["params"] = group["params"]
            new_groups.append(restored)
        self.state = new_state
        self.param_groups = new_groups

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"


def _index_key(key):
    """Parameter indices are ints; a JSON round trip may have made them strings."""
    try:
        return int(key)
    except (TypeError, ValueError):
        return key


def _state_value(name, value, p):
    """A state entry as the optimizer keeps it: tensors copied to p's device (contiguous,
    p's dtype, p's shape unless it is a scalar such as a step count), others as they are."""
    import numpy as np

    from minigrad.backend import transfer
    if isinstance(value, (Tensor, np.ndarray)):
        if isinstance(value, Tensor):
            array, device = value._array, value.device
        else:
            array, device = np.asarray(value), "cpu"
        if array.ndim and array.shape != p.shape:
            raise ValueError(f"loaded optimizer state '{name}' has shape {list(array.shape)}, "
                             f"its parameter has shape {list(p.shape)}")
        k = kernels(p)
        moved = transfer(array, device, p.device)
        if moved.dtype != p.dtype and moved.dtype.kind == "f":
            moved = k.cast(moved, p.dtype)
        elif moved is array:  # not copied yet: the optimizer owns its state
            moved = k.copy_into(array, k.empty(array.shape, array.dtype))
        return Tensor._wrap(moved, p.device)
    return copy.deepcopy(value)
