"""What a char-RNN checkpoint holds, and the checks made when one is read.

A checkpoint is one minigrad.save file (safetensors: tensors plus JSON, never
executed; written to a temporary file and renamed, so a crash leaves the old
file or the new one, never half of one):

    format      "minigrad-char-rnn/1"
    config      every option that fixes the run: model, sizes, data layout, optimizer,
                schedule, seed, budget, data path
    vocab       the characters, in id order (a string)
    model       the model's state dict
    optimizer   the optimizer's state dict (Adam's moments and step count, ...)
    scheduler   the lr scheduler's state dict, or None
    rng         minigrad's random state [seed, offset] (dropout draws continue exactly)
    step, epoch, window   where training stands: the next window to read is `window`
    state       the recurrent state carried into that window (TBPTT); unused when window
                is 0 (an epoch starts from zeros)
    elapsed     seconds of training so far (the --minutes budget counts all sessions)
    history     {"train": [[step, mean loss]], "val": [[step, loss]]}, best_val, best_step
    eval_pending  whether `step` was due an evaluation that Ctrl-C cut short (resume runs it
                first; absent in older checkpoints: False)
    data_sha256 the training text's digest (resuming on another text is flagged)
"""
import os

import minigrad

from charrnn.data import Vocab
from charrnn.errors import CharRNNError
from charrnn.model import build

FORMAT = "minigrad-char-rnn/1"
LATEST, BEST = "latest.safetensors", "best.safetensors"
REQUIRED = ("format", "config", "vocab", "model", "step")


def one_line(text, limit=300):
    """A message squeezed onto one line (state-dict errors span several)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def read(path):
    """The checkpoint dict at `path`; CharRNNError if it is missing or not one of ours."""
    if os.path.isdir(path):
        candidate = os.path.join(path, BEST)
        if not os.path.exists(candidate):
            candidate = os.path.join(path, LATEST)
        path = candidate
    if not os.path.exists(path):
        raise CharRNNError(f"no checkpoint at {path} (train one first: python "
                           f"examples/char_rnn.py train --out DIR)")
    try:
        ckpt = minigrad.load(path)
    except ValueError as exc:
        raise CharRNNError(one_line(exc)) from None
    except OSError as exc:
        raise CharRNNError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    if not isinstance(ckpt, dict) or any(key not in ckpt for key in REQUIRED) \
            or ckpt.get("format") != FORMAT:
        raise CharRNNError(f"{path} is a minigrad checkpoint but not a char-RNN one "
                           f"(expected format {FORMAT!r})")
    return ckpt


def restore_model(ckpt, path):
    """(model, vocab) rebuilt from a checkpoint; CharRNNError if the weights do not fit
    the architecture the checkpoint describes, or the vocabulary does not fit either."""
    config = ckpt["config"]
    vocab = Vocab(ckpt["vocab"])
    try:
        model = build(config, len(vocab))
    except (KeyError, TypeError, ValueError) as exc:
        raise CharRNNError(f"{path}: its model description is unusable ({one_line(exc)})") \
            from None
    try:
        model.load_state_dict(ckpt["model"])
    except (RuntimeError, TypeError, ValueError) as exc:
        raise CharRNNError(f"{path}: its weights do not match a {describe_arch(config)} model "
                           f"over {len(vocab)} characters: {one_line(exc, 200)}") from None
    return model, vocab


def describe_arch(config):
    return (f"{config['model']} {config['layers']}x{config['hidden']} "
            f"(embed {config['embed']})")


def save(path, model, optimizer, scheduler, vocab, config, progress):
    """Write a full checkpoint (see the module docstring); `progress` holds step, epoch,
    window, state tensors, elapsed, history, best_val, best_step, data_sha256."""
    obj = {
        "format": FORMAT,
        "config": dict(config),
        "vocab": vocab.chars,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "rng": minigrad.get_rng_state(),
    }
    obj.update(progress)
    minigrad.save(obj, path)
