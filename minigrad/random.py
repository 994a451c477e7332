"""Random numbers: a Generator is (seed, offset) over a counter-based C generator.

Element i of a draw is a pure function of (seed, offset + i), so a
generator's whole state is two integers: saving and restoring it is exact, and
results do not depend on the thread count.  Each draw advances the offset.

The CPU and the GPU run the same generator (Philox4x32-10), so one stream of
(seed, offset) serves both devices: a draw is made by the kernel table of the
device asked for (`draw(..., device=...)`) and gives the same numbers on
either.  One default generator serves every device (torch.manual_seed too
seeds the CUDA generators).
"""
from minigrad import dtypes
from minigrad.backend import for_device

DEFAULT_SEED = 67280421310721  # PyTorch's default seed, for familiarity


class Generator:
    """State of a random stream: `manual_seed(s)`, `get_state()`, `set_state(t)`."""

    def __init__(self, seed=DEFAULT_SEED, device="cpu"):
        self.device = device
        self.manual_seed(seed)

    def manual_seed(self, seed):
        seed = int(seed)
        if not 0 <= seed < 2 ** 63:
            raise ValueError(f"manual_seed: seed must be in [0, 2**63), got {seed}")
        self.seed, self.offset = seed, 0
        return self

    def initial_seed(self):
        return self.seed

    def get_state(self):
        """The state as an int64 tensor [seed, offset] (what checkpoints store)."""
        from minigrad.creation import tensor
        return tensor([self.seed, self.offset], dtype=dtypes.int64)

    def set_state(self, state):
        values = [int(v) for v in (state.tolist() if hasattr(state, "tolist") else state)]
        if len(values) != 2 or values[0] < 0 or values[1] < 0:
            raise ValueError(f"set_state: expected [seed, offset] (two non-negative integers), "
                             f"got {values}")
        self.seed, self.offset = values
        return self

    def take(self, n):
        """Reserve n draws: returns the offset to use and advances past them (the
        counter moves the same way on every device)."""
        offset = self.offset
        self.offset += for_device("cpu").advance(n)
        return offset


default_generator = Generator()


def manual_seed(seed):
    """Seed the default generator (for rand, randn, dropout, init)."""
    return default_generator.manual_seed(seed)


def seed():
    import time
    return default_generator.manual_seed(time.time_ns() % (2 ** 63))


def initial_seed():
    return default_generator.seed


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def draw(kind, shape, dtype, generator=None, *params, device="cpu"):
    """A new array of `shape` drawn by the generator on `device` (a canonical device):
    kind 'uniform' (low, high), 'normal' (mean, std) or 'bernoulli' (p)."""
    gen = generator if generator is not None else default_generator
    n = 1
    for size in shape:
        n *= size
    offset = gen.take(n)
    kernels = for_device(device)
    return getattr(kernels, kind)(tuple(shape), dtypes.as_dtype(dtype), gen.seed, offset, *params)
