"""Seeing inside: the Tape (the recorded operations of a block, printable as a
Wengert list) and Profile (time spent per op, forward and backward).

    with minigrad.autograd.Tape() as tape:
        loss = ((x @ w).tanh() ** 2).mean()
    print(tape)
"""
import collections
import time

from minigrad.autograd import function


class Tape:
    """Captures every op recorded inside the with-block, in order.

    `tape.nodes` lists the recorded Functions; printing the tape shows one line per
    step: the op, the ids of its inputs and outputs, output shapes and dtypes.
    Tensors are named %id; a leaf shows as %id without a step that produced it."""

    def __init__(self):
        self.nodes = []

    def __enter__(self):
        function.active_tapes.append(self)
        return self

    def __exit__(self, *exc):
        function.active_tapes.remove(self)
        return False

    def __len__(self):
        return len(self.nodes)

    def __iter__(self):
        return iter(self.nodes)

    def rows(self):
        """One tuple per step: (step, op, input names, output names, shapes, dtypes)."""
        rows = []
        for step, node in enumerate(self.nodes, 1):
            inputs = ", ".join(f"%{i}" for i in node.input_ids)
            outputs = ", ".join(f"%{i}" for i in node.output_ids)
            shapes = ", ".join(str(tuple(shape)) for shape, _ in node.out_meta)
            dtypes = ", ".join(str(dtype) for _, dtype in node.out_meta)
            rows.append((step, node.name, inputs, outputs, shapes, dtypes))
        return rows

    def __str__(self):
        header = ("step", "op", "inputs", "outputs", "shape", "dtype")
        rows = [tuple(str(c) for c in r) for r in self.rows()]
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
                  for i, h in enumerate(header)]
        lines = [f"Tape: {len(rows)} recorded operations (backward runs them bottom to top)",
                 "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        return "\n".join(lines)

    __repr__ = __str__


class Profile:
    """Time per op while active: forward ops and the backward of each recorded op.

        with minigrad.autograd.Profile() as prof:
            loss = model(x); loss.backward()
        print(prof)
    """

    def __init__(self):
        self.calls = collections.Counter()
        self.seconds = collections.Counter()

    def add(self, name, seconds):
        self.calls[name] += 1
        self.seconds[name] += seconds

    def __enter__(self):
        function.active_profilers.append(self)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        function.active_profilers.remove(self)
        self.wall = time.perf_counter() - self._start
        return False

    def table(self, top=None):
        """(op, calls, total ms, mean µs) rows, most time first."""
        names = sorted(self.seconds, key=self.seconds.get, reverse=True)[:top]
        return [(n, self.calls[n], 1e3 * self.seconds[n], 1e6 * self.seconds[n] / self.calls[n])
                for n in names]

    def __str__(self):
        lines = [f"{'op':<28}{'calls':>8}{'total ms':>12}{'mean us':>10}"]
        lines += [f"{n:<28}{c:>8}{ms:>12.3f}{us:>10.1f}" for n, c, ms, us in self.table()]
        return "\n".join(lines)

    __repr__ = __str__
