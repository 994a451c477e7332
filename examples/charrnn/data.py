"""Text in, int64 batches out.

    text = read_text(path)                 # str; bad files raise CharRNNError
    vocab = Vocab.from_text(text)          # the sorted distinct characters
    ids = vocab.encode(text)               # (N,) int64
    train, val = split(ids, 0.1)           # first 90% / last 10%
    batches = Streams(train, batch=32, seq_len=100)
    x, y = batches.window(w)               # (T, B) inputs, (T*B,) targets

Truncated backpropagation through time wants consecutive windows of the same
streams, so that the hidden state at the end of window w is the right start for
window w + 1.  `Streams` cuts the ids into B equal streams laid side by side as
the columns of a (L, B) array: window w is rows [w*T, (w+1)*T) -- a contiguous
slice, so building a batch copies nothing and costs no Python work per step.
"""
import os

import numpy as np

from charrnn.errors import CharRNNError

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(os.path.dirname(HERE), "data", "tinyshakespeare.txt")


def read_text(path):
    """The file's contents as a str (a UTF-8 byte-order mark is dropped).

    Raises CharRNNError for a missing, unreadable, empty or non-UTF-8 file; for
    undecodable bytes the message gives the byte offset of the first bad one."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise CharRNNError(f"--data {path}: no such file") from None
    except IsADirectoryError:
        raise CharRNNError(f"--data {path}: is a directory, expected a text file") from None
    except OSError as exc:
        raise CharRNNError(f"--data {path}: cannot read it ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 1].hex()
        raise CharRNNError(f"--data {path}: not UTF-8 text: byte 0x{bad} at byte offset "
                           f"{exc.start} cannot be decoded ({exc.reason})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text:
        raise CharRNNError(f"--data {path}: the file is empty")
    return text


def describe_char(c):
    """A character as a user can read it in an error message: 'a', '\\n', U+00E9 'é'."""
    if c.isprintable() and c != " ":
        return repr(c) if ord(c) < 128 else f"U+{ord(c):04X} {c!r}"
    return repr(c) if ord(c) < 128 else f"U+{ord(c):04X}"


class Vocab:
    """The model's alphabet: the sorted distinct characters, char i <-> id i."""

    def __init__(self, chars):
        self.chars = "".join(chars)
        self.index = {c: i for i, c in enumerate(self.chars)}
        if len(self.index) != len(self.chars):
            raise CharRNNError("a vocabulary lists a character twice (damaged checkpoint?)")

    @classmethod
    def from_text(cls, text):
        return cls(sorted(set(text)))

    def __len__(self):
        return len(self.chars)

    def __eq__(self, other):
        return isinstance(other, Vocab) and self.chars == other.chars

    def unknown(self, text):
        """The characters of `text` that are not in the vocabulary, in order of appearance."""
        return list(dict.fromkeys(c for c in text if c not in self.index))

    def encode(self, text, what="the text"):
        """(len(text),) int64 ids; CharRNNError naming unknown characters."""
        missing = self.unknown(text)
        if missing:
            shown = ", ".join(describe_char(c) for c in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise CharRNNError(f"{what} has characters the model's vocabulary lacks: "
                               f"{shown}{more} (the vocabulary has {len(self)} characters)")
        index = self.index
        return np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)


def split(ids, val_fraction):
    """(train, val): the first (1 - val_fraction) of the ids and the rest (views)."""
    n_val = int(round(len(ids) * val_fraction))
    return ids[:len(ids) - n_val], ids[len(ids) - n_val:]


class Streams:
    """B parallel streams of consecutive characters, read T at a time.

    The ids (N,) are cut into B streams of L = (N - 1) // B characters (the last
    stream's targets reach one character further); inputs and targets are
    stored as (L, B) arrays, stream b in column b.  There are L // T windows per
    pass (an epoch); a trailing partial window is skipped.
    """

    def __init__(self, ids, batch, seq_len):
        self.batch, self.seq_len = batch, seq_len
        length = (len(ids) - 1) // batch
        if length < seq_len:
            raise ValueError(f"{len(ids)} characters make {batch} streams of {length}, shorter "
                             f"than one window of {seq_len}")
        used = length * batch
        # Stream b is ids[b*L : (b+1)*L]; the transposed copy makes each window contiguous.
        self.inputs = np.ascontiguousarray(ids[:used].reshape(batch, length).T)
        self.targets = np.ascontiguousarray(ids[1:used + 1].reshape(batch, length).T)
        self.windows = length // seq_len

    @staticmethod
    def min_chars(batch, seq_len):
        """The fewest ids that give one full window."""
        return batch * seq_len + 1

    def window(self, w):
        """(x (T, B) int64, y (T*B,) int64) of window w in [0, windows): views, no copy."""
        rows = slice(w * self.seq_len, (w + 1) * self.seq_len)
        return self.inputs[rows], self.targets[rows].reshape(-1)

    @property
    def chars_per_window(self):
        return self.batch * self.seq_len
