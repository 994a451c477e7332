"""Module: the base class of every layer, as in PyTorch.

A Module keeps three ordered registries, filled by attribute assignment:

  - ``_parameters``: name -> Parameter (or None), learnable weights,
  - ``_buffers``: name -> Tensor (or None), state that is saved but not learned
    (``persistent=False`` buffers are left out of the state dict),
  - ``_modules``: name -> Module (or None), the children.

``self.weight = Parameter(...)`` registers a parameter, ``self.fc = Linear(...)``
a child; ``register_buffer`` adds a buffer.  Everything else is a plain
attribute.  ``module(x)`` runs the forward pre-hooks, ``forward`` and the
forward hooks.
"""
import collections
import itertools

import numpy as np

from minigrad import dtypes
from minigrad.autograd.grad_mode import no_grad
from minigrad.backend import transfer
from minigrad.nn.parameter import Parameter
from minigrad.ops.common import kernels
from minigrad.tensor import Tensor

IncompatibleKeys = collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])

_hook_ids = itertools.count()


class RemovableHandle:
    """Returned by the register_*_hook methods; ``remove()`` unregisters the hook."""

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = next(_hook_ids)

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class Module:
    """Base class for all neural-network modules.  Subclasses call
    ``super().__init__()`` first, then assign parameters and children as attributes,
    and define ``forward``."""

    training: bool

    def __init__(self):
        setter = object.__setattr__
        setter(self, "training", True)
        setter(self, "_parameters", {})
        setter(self, "_buffers", {})
        setter(self, "_non_persistent_buffers", set())
        setter(self, "_modules", {})
        setter(self, "_forward_hooks", {})
        setter(self, "_forward_pre_hooks", {})

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  f'"forward" function')

    # ---- calling ----------------------------------------------------------

    def __call__(self, *args, **kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_pre_hook(self, hook):
        """hook(module, args) runs before forward; a returned value (a tuple, or one
        value) replaces the positional arguments.  Returns a RemovableHandle."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook):
        """hook(module, args, output) runs after forward; a returned value replaces
        the output.  Returns a RemovableHandle."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ---- registration -------------------------------------------------------

    def __setattr__(self, name, value):
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                f"(minigrad.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name)
            self._modules[name] = value
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (minigrad.nn.Module or None expected)")
            self._modules[name] = None
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                f"(minigrad.Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        """Drop `name` from every registry and the instance dict (before re-registering)."""
        self.__dict__.pop(name, None)
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name):
        # Called only when normal lookup fails: look in the registries.
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    def _check_name(self, name, kind):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got {name!r}')
        known = (self._parameters, self._buffers, self._modules)
        if hasattr(self, name) and not any(name in r for r in known):
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name, param):
        """Add a parameter (a Parameter, or None for an absent one such as a missing bias)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (minigrad.nn.Parameter or None required)")
        if param is not None and param.grad_fn is not None:
            raise ValueError(f"cannot assign non-leaf Tensor to parameter '{name}'")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a buffer: state saved in the state dict (unless persistent=False) but not
        learned, e.g. running statistics."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer "
                            f"'{name}' (minigrad.Tensor or None required)")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        """Add a child module (or None)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The submodule at dotted path `target` ('' is self)."""
        module = self
        for item in target.split(".") if target else ():
            child = module._modules.get(item)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no submodule '{item}' "
                                     f"(looking up '{target}')")
            module = child
        return module

    def get_parameter(self, target):
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._parameters:
            raise AttributeError(f"{type(module).__name__} has no parameter '{name}'")
        return module._parameters[name]

    # ---- iteration ----------------------------------------------------------

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for self and every descendant, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry, prefix, recurse, remove_duplicate):
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        seen = set()
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter) pairs; a parameter shared by two modules comes once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    # ---- modes and gradients ------------------------------------------------

    def train(self, mode=True):
        """Set training mode (Dropout drops) on self and every descendant; returns self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        object.__setattr__(self, "training", mode)
        for module in self.children():  # through train(), so subclasses may override it
            module.train(mode)
        return self

    def eval(self):
        """Evaluation mode: train(False)."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of every parameter: to None (default) or to zeros."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = p.grad.detach()
                p.grad.zero_()

    def apply(self, fn):
        """fn(module) on every descendant (children first) and then on self; returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- dtype and device ---------------------------------------------------

    def to(self, *args, dtype=None, device=None):
        """Move and/or convert parameters and buffers in place: to(device), to(dtype),
        to(device, dtype), to(tensor) (its device and dtype).  Every parameter and
        buffer moves to `device`, gradients included; floating-point ones take
        `dtype`.  The Parameter objects stay the same, so an optimizer created before
        the move keeps updating them -- its state, made on the first step, lives on
        the parameters' device (state made before the move stays where it was, as in
        PyTorch: create optimizers after moving).  Returns self."""
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, str):
                device = a
            else:
                dtype = a
        if dtype is not None:
            dtype = dtypes.as_dtype(dtype)
            if not dtypes.is_float(dtype):
                raise TypeError(f"Module.to only accepts floating point dtypes, got {dtype}")
        if device is not None:
            device = dtypes.check_device(device)
            self._apply_to_tensors(lambda t: _move_in_place(t, device))
        if dtype is not None:
            self._apply_to_tensors(lambda t: _cast_in_place(t, dtype))
        return self

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def cpu(self):
        """Move every parameter and buffer to the CPU (in place); returns self."""
        return self.to(dtypes.CPU)

    def cuda(self, device=None):
        """Move every parameter and buffer to the GPU, 'cuda:0' (in place); returns self."""
        return self.to("cuda" if device is None else
                       (f"cuda:{device}" if isinstance(device, int) else device))

    def _apply_to_tensors(self, fn):
        seen = set()
        for module in self.modules():
            for registry in (module._parameters, module._buffers):
                for t in registry.values():
                    if t is not None and id(t) not in seen:
                        seen.add(id(t))
                        fn(t)

    # ---- state dict ---------------------------------------------------------

    def _state_items(self, prefix):
        """(key, tensor) for every entry of the state dict, submodules included, in
        PyTorch's order (a module's parameters, its persistent buffers, then children)."""
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                yield prefix + name, b
        for name, module in self._modules.items():
            if module is not None:
                yield from module._state_items(prefix + name + ".")

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An ordered dict of every parameter and persistent buffer by dotted name.

        The values share memory with the module's tensors (detached unless keep_vars)."""
        if destination is None:
            destination = collections.OrderedDict()
        for key, t in self._state_items(prefix):
            destination[key] = t if keep_vars else t.detach()
        return destination

    def load_state_dict(self, state_dict, strict=True):
        """Copy values from `state_dict` (name -> Tensor or numpy array) into the
        parameters and buffers.

        Every key, shape and dtype is checked before anything is written: on any
        error nothing changes.  strict=True: missing or unexpected keys are errors;
        strict=False: they are returned as (missing_keys, unexpected_keys)."""
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        own = collections.OrderedDict(self._state_items(""))
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict.keys() if k not in own]
        errors = []
        if strict:
            if unexpected:
                errors.append("Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.append("Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        plan = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            array, source_device, problem = _source_array(state_dict[key])
            if problem is not None:
                errors.append(f'While copying the parameter named "{key}", {problem}')
            elif array.shape != target.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{list(array.shape)} from checkpoint, the shape in current model "
                              f"is {list(target.shape)}.")
            elif array.dtype != target.dtype:
                errors.append(f"dtype mismatch for {key}: copying a param of dtype {array.dtype} "
                              f"from checkpoint, the dtype in current model is {target.dtype}.")
            else:
                plan.append((target, array, source_device))
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        with no_grad():
            for target, array, source_device in plan:
                if array is not target._array:
                    # into the parameter's own storage, on its device (a CPU checkpoint
                    # loads into a model on the GPU)
                    array = transfer(array, source_device, target.device)
                    kernels(target).copy_into(array, target._array)
                    target._version[0] += 1
        return IncompatibleKeys(missing, unexpected)

    # ---- printing -----------------------------------------------------------

    def extra_repr(self):
        """Set the extra text of this module's repr, e.g. 'in_features=2, out_features=3'."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, module in self._modules.items():
            text = _add_indent(repr(module), 2)
            lines.append(f"({name}): {text}")
        body = f"{self._get_name()}("
        if lines:
            if len(lines) == 1 and not self._modules:
                body += lines[0]
            else:
                body += "\n  " + "\n  ".join(lines) + "\n"
        return body + ")"


def _add_indent(text, spaces):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _source_array(value):
    """(array, its device, None) for a state-dict value that can be loaded, else
    (None, None, why not)."""
    if isinstance(value, Tensor):
        return value._array, value.device, None
    if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
        try:
            array = np.asarray(value)
        except Exception as exc:  # e.g. a torch tensor that requires grad, or on a GPU
            return None, None, (f"its value of type {type(value).__name__} cannot be read "
                                f"({exc}).")
        return array, dtypes.CPU, None
    return None, None, f"expected a Tensor or an array, got {type(value).__name__}."


def _move_in_place(t, device):
    """Give tensor `t` (a parameter or buffer) its values on `device`, keeping the
    object; its gradient moves too."""
    if t.device == device:
        return
    t._array = transfer(t._array, t.device, device)
    t.device = device
    t._version[0] += 1
    if t.grad is not None:
        g = t.grad
        t.grad = Tensor._wrap(transfer(g._array, g.device, device), device)


def _cast_in_place(t, dtype):
    """Give tensor `t` (a parameter or buffer) new values of `dtype`, keeping the object."""
    if not dtypes.is_float(t.dtype) or t.dtype == dtype:
        return
    k = kernels(t)
    t._array = k.cast(t._array, dtype)
    t._version[0] += 1
    if t.grad is not None:
        t.grad = Tensor._wrap(k.cast(t.grad._array, dtype), t.device)
