"""Generation: one character at a time, the recurrent state carried along.

Every step is minigrad ops computed in C, on a (1, V) row of logits:

    greedy (temperature 0, or top_k 1):  the argmax
    otherwise:  p = softmax(logits / temperature)
                top-k: rank_i = #{j : x_j > x_i} from one (V, V) comparison, keep rank < k
                cdf = p @ U, with U[j, i] = 1 for j <= i (a cumulative sum as one gemm;
                      minigrad has no cumsum op)
                next = #{i : cdf_i < u * cdf_last},  u uniform in (0, 1] from minigrad.rand

Multiplying u by the last cdf value renormalises the kept probabilities, and
the count picks the first index whose cdf reaches u * total -- always one with
a non-zero probability, so a masked character is never drawn.
"""
import minigrad
from minigrad.creation import arange

GREEDY_BELOW = 1e-6  # temperatures below this are treated as 0 (argmax): 1/T would overflow


class Sampler:
    """Draws characters from a trained CharModel.

    temperature >= 0 (0: greedy), top_k >= 0 (0: no limit; 1: greedy), seed: the
    sampling stream's seed (a Generator of its own, so sampling never disturbs the
    training random stream)."""

    def __init__(self, model, vocab, temperature=0.8, top_k=0, seed=0):
        self.model, self.vocab = model, vocab
        self.temperature, self.top_k = float(temperature), int(top_k)
        self.generator = minigrad.Generator(seed)
        v = len(vocab)
        positions = arange(v, device=model.device)
        dtype = model.decoder.weight.dtype
        # U[j, i] = 1 where j <= i: (1, V) @ U is the running sum of a row.
        self.upper = (positions.reshape(v, 1) <= positions.reshape(1, v)).to(dtype)

    @property
    def greedy(self):
        return self.temperature < GREEDY_BELOW or self.top_k == 1

    def pick(self, logits):
        """The next character id from logits (1, V)."""
        if self.greedy:
            return int(logits.argmax().item())
        v = logits.shape[-1]
        probs = (logits / self.temperature).softmax(-1)
        if 0 < self.top_k < v:
            row = logits.reshape(1, v)
            rank = (row > row.reshape(v, 1)).sum(1)        # rank_i: how many beat x_i
            probs = probs * (rank < self.top_k).to(probs.dtype)
        cdf = probs @ self.upper                           # (1, V) running sums
        u = (1.0 - minigrad.rand(1, 1, dtype=cdf.dtype, generator=self.generator, device=cdf.device)) \
            * cdf[:, v - 1:]
        index = int((cdf < u).sum().item())
        return min(index, v - 1)

    def generate(self, prime, length):
        """Yield `length` characters following `prime` (a non-empty string in the vocab)."""
        model = self.model
        model.eval()
        with minigrad.no_grad():
            ids = self.vocab.encode(prime, "--prime")
            x = model.tokens(ids.reshape(-1, 1))
            logits, state = model(x)                       # warm the state on the prime
            last = logits[logits.shape[0] - 1:]
            for _ in range(length):
                index = self.pick(last)
                yield self.vocab.chars[index]
                x = minigrad.tensor([[index]], dtype=minigrad.int64, device=model.device)
                last, state = model(x, state)


def default_prime(vocab):
    """A newline if the vocabulary has one (a new speech), else its first character."""
    return "\n" if "\n" in vocab.index else vocab.chars[0]
