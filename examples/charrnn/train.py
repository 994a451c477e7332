"""Training: truncated BPTT over consecutive windows, evaluation, checkpoints, resume.

One step reads window w of the B training streams (x (T, B), targets (T*B,)),
runs the model from the state the previous window ended in, takes ONE
cross-entropy over all T*B positions, backpropagates through the T steps of the
window only (the incoming state is detached), clips the gradient norm and
updates with the optimizer.  At the end of an epoch the streams restart and the
state restarts from zeros.

Everything a step depends on -- weights, optimizer moments, scheduler, random
stream, data position and carried state -- is in the checkpoint, so a run that
is stopped (budget, Ctrl-C) and resumed computes exactly the losses the
uninterrupted run computes (same thread count: a parallel sum's rounding can
depend on it).
"""
import collections
import csv
import hashlib
import math
import os
import signal
import sys
import tempfile
import time

import minigrad
import minigrad.nn.functional as F
from minigrad import nn

from charrnn import checkpoint, plot
from charrnn.config import make_optimizer, make_scheduler, resolve_config
from charrnn.data import Streams, Vocab, describe_char, read_text, split
from charrnn.errors import CharRNNError
from charrnn.model import build, count_parameters, detach_state, state_from_tensors, \
    state_tensors
from charrnn.progress import Progress, choose_mode, format_duration, format_rate
from charrnn.sample import Sampler, default_prime
from charrnn.threads import settle_threads

LN2 = math.log(2.0)
EVAL_STREAMS = 64        # validation reads this many parallel streams (fewer for short texts)

TRAIN_POINT_STEPS = 10   # the loss curve's train line: one mean per 10 steps
LOG_FIELDS = ["step", "epoch", "train_loss", "val_loss", "lr", "elapsed_s"]


# ---- set-up ----------------------------------------------------------------------------


def prepare_out(out):
    """Create --out and prove it is writable, before any training time is spent."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise CharRNNError(f"--out {out}: not a folder")
    try:
        os.makedirs(out, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".probe-"):
            pass
    except OSError as exc:
        raise CharRNNError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None


def load_data(config, vocab=None):
    """(text digest, vocab, train ids, val ids) for the config's data; the vocabulary is the
    text's own, or the checkpoint's (`vocab`), which must then match the text's."""
    path = config["data"]
    text = read_text(path)
    text_vocab = Vocab.from_text(text)
    if vocab is not None and text_vocab != vocab:
        new, gone = vocab.unknown(text_vocab.chars), text_vocab.unknown(vocab.chars)
        diff = "; ".join(part for part in (
            "the text adds " + ", ".join(describe_char(ch) for ch in new[:5]) if new else "",
            "it lacks " + ", ".join(describe_char(ch) for ch in gone[:5]) if gone else "") if part)
        raise CharRNNError(f"--data {path}: its {len(text_vocab)} characters are not the "
                           f"checkpoint's vocabulary of {len(vocab)} ({diff}); a model "
                           f"continues only on text with the same alphabet")
    vocab = vocab or text_vocab
    ids = vocab.encode(text)
    train_ids, val_ids = split(ids, config["val_fraction"])
    batch, seq_len = config["batch"], config["seq_len"]
    need_train, need_val = Streams.min_chars(batch, seq_len), Streams.min_chars(1, seq_len)
    if len(train_ids) < need_train or len(val_ids) < need_val:
        fraction = config["val_fraction"]
        need = max(need_train / (1 - fraction), need_val / fraction) if 0 < fraction < 1 \
            else float("inf")
        raise CharRNNError(f"--data {path}: text too short: {len(text)} characters give "
                           f"{len(train_ids)} for training and {len(val_ids)} for validation, "
                           f"but one window of --batch {batch} x --seq-len {seq_len} needs "
                           f"{need_train} and {need_val} (about {math.ceil(need)} in all); use "
                           f"a longer text or smaller --batch/--seq-len")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return digest, vocab, train_ids, val_ids


# ---- evaluation --------------------------------------------------------------------------


def evaluate(model, streams, should_stop=lambda: False):
    """Mean cross-entropy (nats/char) over the validation streams, the state carried across
    windows as in training; None if should_stop() turned true midway."""
    model.eval()
    total, count, state = 0.0, 0, None
    try:
        with minigrad.no_grad():
            for w in range(streams.windows):
                if should_stop():
                    return None
                x, y = streams.window(w)
                logits, state = model(model.tokens(x), state)
                total += F.cross_entropy(logits, y, reduction="sum").item()
                count += y.shape[0]
    finally:
        model.train()
    return total / count


def val_streams(val_ids, seq_len):
    streams = max(1, min(EVAL_STREAMS, (len(val_ids) - 1) // seq_len))
    return Streams(val_ids, streams, seq_len)


# ---- the run ------------------------------------------------------------------------------


class StopFlag:
    """Ctrl-C (or SIGTERM) during training: finish the step, save, exit.  A second
    Ctrl-C stops at once (KeyboardInterrupt)."""

    def __init__(self, say):
        self.set, self.say, self.previous = False, say, {}
        self.signal = signal.SIGINT  # the one that stopped us (the exit status is 128 + it)

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: no handlers, Ctrl-C stays default
                pass
        return self

    def _handle(self, signum, frame):
        if self.set:
            raise KeyboardInterrupt
        self.set, self.signal = True, signum
        self.say("\nstopping: finishing this step and saving a checkpoint "
                 "(Ctrl-C again to quit without saving)")

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def __call__(self):
        return self.set


class Run:
    """One training session: set up from options (and a checkpoint), then loop."""

    def __init__(self, args):
        self.args = args
        self.out = args.out
        ckpt, self.ckpt_path = None, None
        if args.resume is not None:
            self.ckpt_path = os.path.join(self.out, checkpoint.LATEST) \
                if args.resume == "auto" else args.resume
            if os.path.isdir(self.ckpt_path):  # a run's folder: where it stopped, not its best
                self.ckpt_path = os.path.join(self.ckpt_path, checkpoint.LATEST)
            if not os.path.exists(self.ckpt_path):
                raise CharRNNError(f"--resume: no checkpoint at {self.ckpt_path} (nothing to "
                                   f"resume; start without --resume)")
            ckpt = checkpoint.read(self.ckpt_path)
        self.config = resolve_config(args, ckpt)
        prepare_out(self.out)
        vocab = Vocab(ckpt["vocab"]) if ckpt is not None else None
        self.digest, self.vocab, train_ids, val_ids = load_data(self.config, vocab)
        self.config["vocab_size"] = len(self.vocab)
        self.train = Streams(train_ids, self.config["batch"], self.config["seq_len"])
        self.val = val_streams(val_ids, self.config["seq_len"])
        self.n_train, self.n_val = len(train_ids), len(val_ids)

        minigrad.manual_seed(self.config["seed"])
        if ckpt is None:
            self.model = build(self.config, len(self.vocab))
        else:
            self.model, _ = checkpoint.restore_model(ckpt, self.ckpt_path)
        self.model.to(args.device).train()       # before the optimizer: its state goes there
        self.say_model_and_data()                 # before the thread probe: something to read
        self.threads_note = settle_threads(args.threads, self.config, ckpt, self.model, self.train)
        self.optimizer = make_optimizer(self.config, self.model.parameters())
        self.scheduler = make_scheduler(self.config, self.optimizer)
        self.step, self.epoch, self.window, self.state = 0, 0, 0, None
        self.elapsed, self.session_start = 0.0, None
        self.history = {"train": [], "val": []}
        self.best_val, self.best_step = None, None
        self.resumed_note = None
        self.log_file, self.unlogged_row = None, None
        self.eval_pending = False  # this step was due an evaluation that Ctrl-C cut short
        if ckpt is not None:
            self._restore(ckpt)

    def _restore(self, ckpt):
        try:
            self.optimizer.load_state_dict(ckpt["optimizer"])
            if self.scheduler is not None and ckpt.get("scheduler") is not None:
                self.scheduler.load_state_dict(ckpt["scheduler"])
            minigrad.set_rng_state(ckpt["rng"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise CharRNNError(f"{self.ckpt_path}: cannot restore the optimizer or random "
                               f"state: {checkpoint.one_line(exc, 200)}") from None
        self.step, self.epoch, self.window = ckpt["step"], ckpt["epoch"], ckpt["window"]
        self.state = state_from_tensors(ckpt.get("state") or [], self.config["model"],
                                        self.model.device)
        self.elapsed = float(ckpt.get("elapsed", 0.0))
        self.history = {k: [list(p) for p in v] for k, v in ckpt.get("history", {}).items()}
        self.history.setdefault("train", [])
        self.history.setdefault("val", [])
        self.best_val, self.best_step = ckpt.get("best_val"), ckpt.get("best_step")
        self.eval_pending = bool(ckpt.get("eval_pending", False))
        if self.state is not None and self.state_batch() != self.config["batch"]:
            raise CharRNNError(f"{self.ckpt_path}: its carried state is for a batch of "
                               f"{self.state_batch()}, not --batch {self.config['batch']}")
        if ckpt.get("data_sha256") != self.digest:
            self.resumed_note = ("note: the training text differs from the checkpoint's (same "
                                 "alphabet); training continues, but not exactly as before")
        if self.window >= self.train.windows:   # a different text can have fewer windows
            self.epoch, self.window, self.state = self.epoch + 1, 0, None

    def state_batch(self):
        return state_tensors(self.state)[0].shape[1]

    # -- files --

    def progress_dict(self):
        return {"step": self.step, "epoch": self.epoch, "window": self.window,
                "state": state_tensors(self.state), "elapsed": self.elapsed_now(),
                "history": self.history, "best_val": self.best_val, "best_step": self.best_step,
                "eval_pending": self.eval_pending, "data_sha256": self.digest}

    def save(self, name):
        path = os.path.join(self.out, name)
        if self.log_file is not None:  # the log's rows up to this step survive what follows
            self.log_file.flush()
        try:
            checkpoint.save(path, self.model, self.optimizer, self.scheduler, self.vocab,
                            self.config, self.progress_dict())
        except OSError as exc:
            raise CharRNNError(f"cannot write checkpoint {path}: {exc.strerror or exc}") from None
        return path

    def open_log(self):
        """log.csv: one row per step (val_loss on evaluation steps), appended across
        resumes; rows past the checkpoint's step (a crash after it) are dropped."""
        path = os.path.join(self.out, "log.csv")
        rows = []
        if self.step > 0 and os.path.exists(path):
            with open(path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if r.get("step", "").isdigit()
                        and int(r["step"]) <= self.step]
        if self.evaluation_missed() and rows and int(rows[-1]["step"]) == self.step:
            self.unlogged_row = rows.pop()  # written again with the evaluation made up for
        f = open(path, "w", newline="")
        writer = csv.DictWriter(f, fieldnames=LOG_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
        return f, writer

    def plot(self):
        title = (f"char-RNN {checkpoint.describe_arch(self.config)}, batch {self.config['batch']}"
                 f" x seq {self.config['seq_len']}, {self.config['optimizer']} lr "
                 f"{self.config['lr']:g}{' cosine' if self.config['schedule'] == 'cosine' else ''}"
                 f" -- {os.path.basename(self.config['data'])}")
        try:
            plot.write_loss_curve(os.path.join(self.out, "loss.png"), self.history["train"],
                                  self.history["val"], title)
        except OSError as exc:
            raise CharRNNError(f"cannot write {self.out}/loss.png: {exc.strerror or exc}") \
                from None

    # -- the loop --

    def budget_left(self, elapsed):
        """(done?, seconds left or None, steps left or None)."""
        steps, minutes = self.config["steps"], self.config["minutes"]
        steps_left = None if steps is None else steps - self.step
        secs_left = None if minutes is None else minutes * 60.0 - elapsed
        done = (steps_left is not None and steps_left <= 0) or \
            (secs_left is not None and secs_left <= 0)
        return done, secs_left, steps_left

    def say_model_and_data(self):
        c = self.config
        params = count_parameters(self.model)
        print(f"char-RNN: {checkpoint.describe_arch(c)}, dropout {c['dropout']:g}, "
              f"{params / 1e6:.2f}M parameters | {os.path.basename(c['data'])}: "
              f"{self.n_train + self.n_val:,} chars, vocabulary {len(self.vocab)} | train "
              f"{self.n_train:,} / validation {self.n_val:,}", flush=True)

    def banner(self, say):
        c, threads = self.config, minigrad.get_num_threads()
        budget = " and ".join(x for x in (
            f"{c['steps']} steps" if c["steps"] is not None else "",
            f"{c['minutes']:g} min" if c["minutes"] is not None else "") if x)
        say(f"batch {c['batch']} x seq {c['seq_len']} ({self.train.windows} windows/epoch), "
            f"{c['optimizer']} lr {c['lr']:g}{', cosine' if c['schedule'] == 'cosine' else ''}"
            f", clip {c['clip']:g} | {threads} thread{'s' if threads != 1 else ''} "
            f"({self.threads_note}) | "
            f"budget {budget} | "
            f"out {self.out}" + (f" | resumed at step {self.step}" if self.step else ""))
        if self.resumed_note:
            say(self.resumed_note)
        if not plot.have_matplotlib():
            say(plot.NO_MATPLOTLIB)

    def run(self):
        if self.step == 0:
            self.set_aside_earlier_run()
        self.log_file, log = self.open_log()
        try:
            return self._loop(choose_mode(self.args.progress), log)
        finally:
            self.log_file.close()
            self.log_file = None

    RUN_FILES = (checkpoint.LATEST, checkpoint.BEST, "log.csv", "loss.png")

    def set_aside_earlier_run(self):
        """A new run in a folder that holds another run's files: they move to OUT/previous/
        (replacing what an even earlier one left there), so that nothing mixes the two runs --
        `sample` reading the old best beside the new latest -- and nothing is lost at once."""
        names = [n for n in self.RUN_FILES if os.path.exists(os.path.join(self.out, n))]
        if not names:
            return
        previous = os.path.join(self.out, "previous")
        try:
            os.makedirs(previous, exist_ok=True)
            for name in names:
                os.replace(os.path.join(self.out, name), os.path.join(previous, name))
        except OSError as exc:
            raise CharRNNError(f"cannot move the earlier run's files to {previous}: "
                               f"{exc.strerror or exc}") from None
        self.resumed_note = (f"note: {self.out} held an earlier run's files; moved to {previous} "
                             f"(--resume would have continued that run)")

    def evaluated_now(self):
        return bool(self.history["val"]) and self.history["val"][-1][0] == self.step

    def evaluation_missed(self):
        """Whether the checkpoint's step was due an evaluation it did not get (Ctrl-C came
        during it, or during that step): resuming makes it up first."""
        return self.eval_pending and not self.evaluated_now()

    def elapsed_now(self):
        """Seconds of training over all sessions, this one up to now."""
        if self.session_start is None:
            return self.elapsed
        return self.elapsed + time.perf_counter() - self.session_start

    def _loop(self, progress_mode, log):
        c = self.config
        model, optimizer, train = self.model, self.optimizer, self.train
        print_ = (lambda line: print(line, flush=True))
        self.banner(print_)
        done, _, _ = self.budget_left(self.elapsed)
        missed = self.evaluation_missed()
        if done and not missed:
            print_(f"nothing to do: the budget is already reached at step {self.step} (give a "
                   f"larger --steps or --minutes to train further)")
            return 0
        progress = Progress(progress_mode, self.step, c["steps"])
        say = progress.write
        params = list(model.parameters())
        recent = collections.deque(maxlen=50)    # the bar's running mean of the train loss
        interval_losses = []                      # train losses since the last evaluation
        point_losses = []                         # ... since the last point of the curve
        last_val = self.history["val"][-1][1] if self.history["val"] else None
        self.session_start = time.perf_counter()
        train_seconds, session_steps = 0.0, 0
        stop = StopFlag(say)
        with stop:
            if missed:  # stopped during this step's evaluation: it comes first now
                val_loss, improved = self._validate(stop)
                if self.unlogged_row is not None:
                    self.unlogged_row["val_loss"] = "" if val_loss is None else repr(val_loss)
                    log.writerow(self.unlogged_row)
                if val_loss is not None:
                    self.eval_pending = False
                    self._save_validated(val_loss, improved, [], say)
                    last_val = val_loss
            pause = False
            while not done and not pause and not stop():
                t0 = time.perf_counter()
                if self.window == 0:
                    self.state = None  # a new epoch: the streams restart, so does the state
                xw, yw = train.window(self.window)
                logits, state = model(model.tokens(xw), self.state)
                loss = F.cross_entropy(logits, yw)        # one loss over all T*B positions
                optimizer.zero_grad()
                loss.backward()
                if c["clip"] > 0:
                    nn.utils.clip_grad_norm_(params, c["clip"])
                optimizer.step()
                lr = optimizer.param_groups[0]["lr"]  # this step's (the scheduler sets the next)
                if self.scheduler is not None:
                    self.scheduler.step()
                self.state = detach_state(state)
                loss_value = loss.item()
                train_seconds += time.perf_counter() - t0
                self.step += 1
                session_steps += 1
                self.window += 1
                if self.window == train.windows:
                    self.epoch, self.window = self.epoch + 1, 0
                recent.append(loss_value)
                interval_losses.append(loss_value)
                point_losses.append(loss_value)
                if self.step % TRAIN_POINT_STEPS == 0:         # the curve's train line
                    self.history["train"].append([self.step, sum(point_losses) / len(point_losses)])
                    point_losses = []

                elapsed = self.elapsed_now()
                done, secs_left, steps_left = self.budget_left(elapsed)
                pause = not done and session_steps == self.args.session_steps
                val_loss, improved = None, False
                due = self.step % self.args.eval_every == 0 or done
                if due:
                    val_loss, improved = self._validate(stop)
                self.eval_pending = due and val_loss is None
                log.writerow({"step": self.step, "epoch": self.epoch,
                              "train_loss": repr(loss_value),
                              "val_loss": "" if val_loss is None else repr(val_loss),
                              "lr": repr(lr), "elapsed_s": f"{elapsed:.2f}"})
                if val_loss is not None:  # after the log's row: the checkpoint flushes it
                    self._save_validated(val_loss, improved, interval_losses, say)
                    interval_losses, last_val = [], val_loss

                rate = session_steps * train.chars_per_window / max(train_seconds, 1e-9)
                wall_per_step = (time.perf_counter() - self.session_start) / session_steps
                etas = [s for s in (secs_left, None if steps_left is None
                                    else steps_left * wall_per_step) if s is not None]
                eta = max(0.0, min(etas))
                estimate = c["steps"] if c["steps"] is not None \
                    else self.step + int(eta / wall_per_step)
                progress.update(self.step, sum(recent) / len(recent), last_val, rate, eta,
                                estimate)
        progress.close()
        self.elapsed = self.elapsed_now()
        self.session_start = None
        if pause:
            path = self.save(checkpoint.LATEST)
            self.plot()
            print_(f"paused at step {self.step} after {session_steps} steps (--session-steps): "
                   f"saved {path}; continue with: python examples/char_rnn.py train --out "
                   f"{self.out} --resume")
            return 0
        finished = done and self.evaluated_now()
        if not finished:
            # Ctrl-C (or Ctrl-C during the last evaluation): save where we are, no evaluation.
            path = self.save(checkpoint.LATEST)
            self.plot()
            print_(f"interrupted at step {self.step}: saved {path}; continue with: "
                   f"python examples/char_rnn.py train --out {self.out} --resume")
            return 128 + int(stop.signal)  # 130 for Ctrl-C, 143 for SIGTERM
        rate = session_steps * train.chars_per_window / max(train_seconds, 1e-9)
        best = self.best_val
        print_(f"done: step {self.step} (epoch {self.epoch + self.window / train.windows:.2f}), "
               f"{format_duration(self.elapsed)} of training"
               + (f", {format_rate(rate)} chars/s" if session_steps else "") + " | "
               f"best validation {best:.4f} nats/char = {best / LN2:.4f} bits/char "
               f"(step {self.best_step})")
        files = [checkpoint.LATEST, checkpoint.BEST, "log.csv"]
        if plot.have_matplotlib():
            files.append("loss.png")
        print_(f"files in {self.out}: {', '.join(files)} | sample again with: python "
               f"examples/char_rnn.py sample --checkpoint "
               f"{os.path.join(self.out, checkpoint.BEST)}")
        if self.args.sample_length > 0 and not stop():
            self.print_sample(print_)
        return 0

    def _validate(self, stop):
        """(validation loss now, whether it is the best so far), kept in the history; (None,
        False) and nothing kept if Ctrl-C came during the evaluation."""
        val_loss = evaluate(self.model, self.val, stop)
        if val_loss is None:
            return None, False
        self.history["val"].append([self.step, val_loss])
        improved = self.best_val is None or val_loss < self.best_val
        if improved:
            self.best_val, self.best_step = val_loss, self.step
        return val_loss, improved

    def _save_validated(self, val_loss, improved, interval_losses, say):
        """After an evaluation: latest (and best) checkpoints, the curve, the report line."""
        self.save(checkpoint.LATEST)
        if improved:
            self.save(checkpoint.BEST)
        self.plot()
        train_text = f"train {sum(interval_losses) / len(interval_losses):.4f} | " \
            if interval_losses else ""
        say(f"step {self.step}: {train_text}validation {val_loss:.4f} nats/char = "
            f"{val_loss / LN2:.4f} bits/char" + (" (best)" if improved else ""))

    def print_sample(self, say):
        best_path = os.path.join(self.out, checkpoint.BEST)
        model = self.model
        if os.path.exists(best_path):
            model, _ = checkpoint.restore_model(checkpoint.read(best_path), best_path)
        temperature = self.args.sample_temperature
        say(f"--- sample: {self.args.sample_length} characters at temperature "
            f"{temperature:g} from the best checkpoint ---")
        sampler = Sampler(model, self.vocab, temperature=temperature, top_k=0,
                          seed=self.config["seed"])
        prime = default_prime(self.vocab)
        sys.stdout.write(prime)
        for ch in sampler.generate(prime, self.args.sample_length):
            sys.stdout.write(ch)
            sys.stdout.flush()
        sys.stdout.write("\n")
        sys.stdout.flush()


def train_command(args):
    return Run(args).run()
