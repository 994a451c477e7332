"""examples/char_rnn.py end to end, on tiny models and texts (seconds in all).

Train / sample / resume through the command line's main(argv) (in-process), a
real Ctrl-C through a subprocess, every bad input the issue lists (one line on
stderr, non-zero exit, no traceback), and the sampler's behaviour: seeds,
top-k, temperature, and the categorical draw against softmax probabilities.
"""
import csv
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import minigrad

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
SCRIPT = os.path.join(EXAMPLES, "char_rnn.py")
sys.path.insert(0, EXAMPLES)

import char_rnn  # noqa: E402
from charrnn.data import Vocab  # noqa: E402
from charrnn.model import CharModel  # noqa: E402
from charrnn.sample import Sampler  # noqa: E402

CORPUS = os.path.join(EXAMPLES, "data", "tinyshakespeare.txt")
# A model small enough that a step takes about a millisecond.
TINY = ["--hidden", "24", "--layers", "2", "--embed", "8", "--batch", "4", "--seq-len", "16",
        "--threads", "1", "--progress", "off", "--sample-length", "0"]


@pytest.fixture(scope="module")
def small_text(tmp_path_factory):
    """The first 3,000 characters of the bundled corpus: 2,700 train (42 windows of 4 x 16)."""
    path = tmp_path_factory.mktemp("text") / "small.txt"
    with open(CORPUS, encoding="utf-8") as f:
        path.write_text(f.read(3000), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def trained(small_text, tmp_path_factory):
    """A tiny model trained for 30 steps: its --out folder."""
    out = str(tmp_path_factory.mktemp("trained"))
    code = char_rnn.main(["train", "--data", small_text, "--out", out, "--steps", "30",
                          "--eval-every", "10"] + TINY)
    assert code == 0
    return out


def run(capsys, *argv):
    threads = minigrad.get_num_threads()
    try:
        code = char_rnn.main([str(a) for a in argv])
    finally:
        minigrad.set_num_threads(threads)
    out, err = capsys.readouterr()
    return code, out, err


def read_log(out):
    with open(os.path.join(out, "log.csv"), newline="") as f:
        return list(csv.DictReader(f))


def train_losses(out):
    return [(int(r["step"]), r["train_loss"]) for r in read_log(out)]


def assert_one_line_error(code, err, *fragments):
    assert code != 0
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("char_rnn"), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ---- train, sample, resume --------------------------------------------------------------------


def test_train_writes_checkpoints_log_and_learns(trained):
    for name in ("latest.safetensors", "best.safetensors", "log.csv"):
        assert os.path.exists(os.path.join(trained, name))
    rows = read_log(trained)
    assert [int(r["step"]) for r in rows] == list(range(1, 31))
    vals = [float(r["val_loss"]) for r in rows if r["val_loss"]]
    assert len(vals) == 3                        # steps 10, 20, 30
    assert vals[-1] < vals[0] < math.log(60)     # learning, from about uniform over ~60 chars
    ckpt = minigrad.load(os.path.join(trained, "latest.safetensors"))
    assert ckpt["step"] == 30 and ckpt["config"]["model"] == "lstm"
    assert isinstance(ckpt["vocab"], str) and len(ckpt["vocab"]) == ckpt["config"]["vocab_size"]
    assert ckpt["optimizer"]["state"]            # Adam's moments travel with the weights
    assert len(ckpt["state"]) == 2               # the carried (h, c)


def test_train_reports_val_in_nats_and_bits(small_text, tmp_path, capsys):
    code, out, err = run(capsys, "train", "--data", small_text, "--out", tmp_path, "--steps", "4",
                         "--eval-every", "2", *TINY)
    assert code == 0, err
    line = next(l for l in out.splitlines() if l.startswith("step 4:"))
    nats = float(line.split("validation ")[1].split(" nats")[0])
    bits = float(line.split("= ")[1].split(" bits")[0])
    assert bits == pytest.approx(nats / math.log(2), abs=2e-4)


def test_sample_streams_prime_then_length_chars(trained, capsys):
    code, out, err = run(capsys, "sample", "--checkpoint", trained, "--length", 120, "--prime",
                         "ROMEO:", "--seed", 7, "--threads", 1)
    assert code == 0, err
    assert out.startswith("ROMEO:") and out.endswith("\n")
    assert len(out) == len("ROMEO:") + 120 + 1


@pytest.mark.parametrize("model,extra", [
    ("lstm", ["--dropout", "0.2"]),                                   # dropout: the RNG resumes
    ("gru", ["--schedule", "cosine", "--optimizer", "rmsprop"]),      # a scheduler resumes
    ("rnn", ["--optimizer", "sgd", "--lr", "0.3"]),
])
def test_resume_gives_the_uninterrupted_losses(small_text, tmp_path, capsys, model, extra):
    # 42 windows per epoch: stopping at 17 is mid-epoch, and 60 steps cross an epoch boundary.
    common = ["--data", small_text, "--model", model, "--eval-every", "8"] + TINY + extra
    code, _, err = run(capsys, "train", "--out", tmp_path / "whole", "--steps", 60, *common)
    assert code == 0, err
    code, out, err = run(capsys, "train", "--out", tmp_path / "parts", "--steps", 60,
                         "--session-steps", 17, *common)
    assert code == 0, err
    assert "paused at step 17" in out
    # The budget (--steps 60), model and training options all come from the checkpoint.
    code, out, err = run(capsys, "train", "--out", tmp_path / "parts", "--resume",
                         "--progress", "off", "--sample-length", 0)
    assert code == 0, err
    assert "resumed at step 17" in out
    assert "1 thread (as the checkpoint's run)" in out
    whole, parts = train_losses(tmp_path / "whole"), train_losses(tmp_path / "parts")
    assert [s for s, _ in parts] == list(range(1, 61))
    assert parts == whole          # bit for bit: the losses are written with repr()


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_saves_a_checkpoint_and_resume_continues_exactly(small_text, tmp_path, sig,
                                                               status):
    common = ["--data", small_text, "--eval-every", "3"] + TINY
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, SCRIPT, "train", "--out", str(tmp_path / "a"),
                             "--steps", "100000"] + common, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 60
        for line in proc.stdout:      # wait until training is under way
            if line.startswith("step 6:") or time.time() > deadline:
                break
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == status, err  # 128 + the signal's number, as shells report it
    assert "Traceback" not in err
    assert "interrupted at step" in out
    stopped = minigrad.load(str(tmp_path / "a" / "latest.safetensors"))["step"]
    assert stopped >= 6
    target = stopped + 7
    subprocess.run([sys.executable, SCRIPT, "train", "--out", str(tmp_path / "a"), "--resume",
                    "--steps", str(target), "--threads", "1", "--progress", "off",
                    "--sample-length", "0"], check=True, capture_output=True)
    subprocess.run([sys.executable, SCRIPT, "train", "--out", str(tmp_path / "b"), "--steps",
                    str(target)] + common, check=True, capture_output=True)
    assert train_losses(tmp_path / "a") == train_losses(tmp_path / "b")


def interrupt_evaluation_at(monkeypatch, call):
    """Make the `call`-th evaluation (1-based) behave as a Ctrl-C arriving during it."""
    from charrnn import train
    real, calls = train.evaluate, []

    def evaluate(model, streams, should_stop=lambda: False):
        calls.append(1)
        if len(calls) == call:
            should_stop.set = True         # the StopFlag, as its signal handler sets it
            return None
        return real(model, streams, should_stop)
    monkeypatch.setattr(train, "evaluate", evaluate)


def val_steps(out):
    return [(int(r["step"]), r["val_loss"]) for r in read_log(out) if r["val_loss"]]


@pytest.mark.parametrize("interrupted", [1, 2], ids=["mid-run", "final"])
def test_an_evaluation_cut_by_ctrl_c_is_made_up_on_resume(small_text, tmp_path, capsys,
                                                         monkeypatch, interrupted):
    """Ctrl-C during an evaluation saves latest without it; --resume evaluates that step
    first (the final one included: then best, the summary), and the run ends as the
    uninterrupted one does, each step logged once."""
    common = ["train", "--data", small_text, "--steps", 6, "--eval-every", 3, *TINY]
    code, _, err = run(capsys, *common, "--out", tmp_path / "whole")
    assert code == 0, err
    with monkeypatch.context() as m:
        interrupt_evaluation_at(m, interrupted)
        code, out, _ = run(capsys, *common, "--out", tmp_path / "cut")
    assert code == 130 and "interrupted at step" in out
    assert minigrad.load(str(tmp_path / "cut" / "latest.safetensors"))["step"] == 3 * interrupted
    code, out, err = run(capsys, "train", "--out", tmp_path / "cut", "--resume", "--progress",
                         "off", "--sample-length", 0, "--eval-every", 3)
    assert code == 0, err
    assert f"step {3 * interrupted}: validation" in out and "done: step 6" in out
    assert [int(r["step"]) for r in read_log(tmp_path / "cut")] == list(range(1, 7))
    assert val_steps(tmp_path / "cut") == val_steps(tmp_path / "whole")
    assert train_losses(tmp_path / "cut") == train_losses(tmp_path / "whole")
    assert os.path.exists(tmp_path / "cut" / "best.safetensors")


def test_resume_from_a_folder_continues_from_latest_not_best(small_text, tmp_path, capsys):
    code, _, err = run(capsys, "train", "--data", small_text, "--out", tmp_path, "--steps", 10,
                       "--eval-every", 4, "--session-steps", 5, *TINY)
    assert code == 0, err
    assert minigrad.load(str(tmp_path / "best.safetensors"))["step"] == 4
    code, out, err = run(capsys, "train", "--out", tmp_path / "elsewhere", "--resume", tmp_path,
                         "--progress", "off", "--sample-length", 0)
    assert code == 0, err
    assert "resumed at step 5" in out


def test_a_new_run_sets_an_earlier_runs_files_aside(trained, small_text, tmp_path, capsys):
    """A new run in a used folder moves the old run's files to previous/: `sample` on the
    folder then reads the new run, never the old best beside the new latest."""
    import shutil
    out = tmp_path / "run"
    shutil.copytree(trained, out)
    code, printed, err = run(capsys, "train", "--data", small_text, "--out", out, "--model", "gru",
                             "--steps", 4, "--session-steps", 1, *TINY)
    assert code == 0, err
    assert "earlier run's files; moved to" in printed
    assert sorted(os.listdir(out / "previous")) == ["best.safetensors", "latest.safetensors",
                                                    "log.csv"]
    assert not os.path.exists(out / "best.safetensors")
    assert checkpoint_model(out) == "gru"
    assert minigrad.load(str(out / "previous" / "best.safetensors"))["config"]["model"] == "lstm"


def checkpoint_model(folder):
    from charrnn import checkpoint
    return checkpoint.read(str(folder))["config"]["model"]


def test_the_log_is_on_disk_when_a_checkpoint_is_written(small_text, tmp_path, capsys,
                                                        monkeypatch):
    """A crash right after a checkpoint (kill -9) keeps the log's rows up to that step."""
    from charrnn import checkpoint
    real, seen = checkpoint.save, []

    def save(path, *args):
        seen.append((args[-1]["step"], [int(r["step"]) for r in read_log(tmp_path)]))
        return real(path, *args)
    monkeypatch.setattr(checkpoint, "save", save)
    code, _, err = run(capsys, "train", "--data", small_text, "--out", tmp_path, "--steps", 6,
                       "--eval-every", 3, *TINY)
    assert code == 0, err
    assert seen and all(rows == list(range(1, step + 1)) for step, rows in seen), seen


def test_the_log_holds_the_rate_each_step_used(small_text, tmp_path, capsys):
    code, _, err = run(capsys, "train", "--data", small_text, "--out", tmp_path, "--steps", 3,
                       "--schedule", "cosine", "--lr", "0.003", *TINY)
    assert code == 0, err
    assert float(read_log(tmp_path)[0]["lr"]) == 0.003


def test_threads_auto_times_both_counts(small_text, tmp_path, capsys, thread_knobs):
    minigrad.set_num_threads(2)
    code, out, err = run(capsys, "train", "--data", small_text, "--out", tmp_path,
                         "--steps", 2, *[a for a in TINY if a not in ("--threads", "1")])
    assert code == 0, err
    assert "ms per step at 2" in out and "ms at 1" in out
    assert minigrad.load(str(tmp_path / "latest.safetensors"))["config"]["threads"] in (1, 2)


# ---- bad input: one line, non-zero, no traceback --------------------------------------------


def test_missing_data_file(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--data", tmp_path / "nope.txt", "--out", tmp_path, *TINY)
    assert_one_line_error(code, err, "no such file")


def test_empty_data_file(tmp_path, capsys):
    (tmp_path / "empty.txt").write_bytes(b"")
    code, _, err = run(capsys, "train", "--data", tmp_path / "empty.txt", "--out", tmp_path, *TINY)
    assert_one_line_error(code, err, "empty")


def test_undecodable_bytes_name_the_offset(tmp_path, capsys):
    (tmp_path / "bad.txt").write_bytes(b"hello world " * 20 + b"\xff\xfe rest")
    code, _, err = run(capsys, "train", "--data", tmp_path / "bad.txt", "--out", tmp_path, *TINY)
    assert_one_line_error(code, err, "UTF-8", "0xff", "offset 240")


def test_text_shorter_than_one_window(tmp_path, capsys):
    (tmp_path / "short.txt").write_text("To be, or not to be: that is the question.\n" * 2)
    code, _, err = run(capsys, "train", "--data", tmp_path / "short.txt", "--out", tmp_path, *TINY)
    assert_one_line_error(code, err, "too short", "--seq-len 16")


def test_unwritable_out(small_text, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, _, err = run(capsys, "train", "--data", small_text, "--out", blocker / "out", *TINY)
    assert_one_line_error(code, err, "--out", "cannot write")


def test_out_that_is_a_file(small_text, tmp_path, capsys):
    (tmp_path / "a-file").write_text("x")
    code, _, err = run(capsys, "train", "--data", small_text, "--out", tmp_path / "a-file", *TINY)
    assert_one_line_error(code, err, "--out", "not a folder")


def test_resume_on_text_with_another_vocabulary(trained, tmp_path, capsys):
    (tmp_path / "other.txt").write_text("0123456789 xyz\n" * 400)
    latest = os.path.join(trained, "latest.safetensors")
    code, _, err = run(capsys, "train", "--out", tmp_path / "copy", "--resume", latest,
                       "--data", tmp_path / "other.txt", "--threads", 1)
    assert_one_line_error(code, err, "vocabulary")


def test_resume_with_another_architecture(trained, tmp_path, capsys):
    latest = os.path.join(trained, "latest.safetensors")
    code, _, err = run(capsys, "train", "--out", tmp_path, "--resume", latest, "--hidden", 32,
                       "--model", "gru")
    assert_one_line_error(code, err, "--hidden 24", "--model gru")


def test_nothing_to_resume(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--out", tmp_path, "--resume", *TINY)
    assert_one_line_error(code, err, "no checkpoint")


def test_checkpoint_whose_weights_do_not_fit_its_architecture(trained, tmp_path, capsys):
    ckpt = minigrad.load(os.path.join(trained, "best.safetensors"))
    ckpt["config"]["hidden"] = 40                  # the weights are for 24
    minigrad.save(ckpt, str(tmp_path / "odd.safetensors"))
    code, _, err = run(capsys, "sample", "--checkpoint", tmp_path / "odd.safetensors")
    assert_one_line_error(code, err, "do not match")


def test_checkpoint_with_another_vocabulary(trained, tmp_path, capsys):
    ckpt = minigrad.load(os.path.join(trained, "best.safetensors"))
    ckpt["vocab"] = ckpt["vocab"][:-3]             # 3 characters fewer than the embedding has
    minigrad.save(ckpt, str(tmp_path / "odd.safetensors"))
    code, _, err = run(capsys, "sample", "--checkpoint", tmp_path / "odd.safetensors")
    assert_one_line_error(code, err, "do not match")


def test_corrupt_and_foreign_checkpoints(tmp_path, capsys):
    (tmp_path / "junk.safetensors").write_bytes(b"\x00garbage" * 10)
    code, _, err = run(capsys, "sample", "--checkpoint", tmp_path / "junk.safetensors")
    assert_one_line_error(code, err, "not a valid minigrad checkpoint")
    minigrad.save({"weights": minigrad.zeros(3)}, str(tmp_path / "other.safetensors"))
    code, _, err = run(capsys, "sample", "--checkpoint", tmp_path / "other.safetensors")
    assert_one_line_error(code, err, "not a char-RNN")
    code, _, err = run(capsys, "sample", "--checkpoint", tmp_path / "missing.safetensors")
    assert_one_line_error(code, err, "no checkpoint")


def test_prime_with_unknown_characters(trained, capsys):
    code, out, err = run(capsys, "sample", "--checkpoint", trained, "--prime", "Hé~")
    assert_one_line_error(code, err, "--prime", "U+00E9", "'~'")
    assert out == ""                               # nothing printed before the check


def test_cuda_without_a_gpu(capsys):
    if minigrad.cuda.is_available():
        pytest.skip("a CUDA device is visible")
    code, _, err = run(capsys, "sample", "--device", "cuda")
    reason = "no CUDA device is visible" if minigrad.cuda.is_built() else "no CUDA backend"
    assert_one_line_error(code, err, "--device cuda", reason, "use --device cpu")


@pytest.fixture(params=["loopback", pytest.param("gpu", marks=pytest.mark.cuda)])
def cuda_device(request, monkeypatch):
    """Device 'cuda' for the example: the loopback api (minigrad/backend/cuda/loopback.py:
    the CUDA table, device arrays and transfers over the CPU kernels), or the GPU."""
    from minigrad.backend.cuda import loopback, runtime
    if request.param == "loopback":
        monkeypatch.setattr(char_rnn, "check_device", lambda device: None)
        previous = runtime.install(loopback.LoopbackApi())
    else:
        previous = runtime.install(runtime.cuda_api())
    yield request.param
    runtime.install(previous)


def test_train_resume_and_sample_on_cuda(small_text, tmp_path, capsys, cuda_device):
    # the same run on the CPU and on 'cuda': the same losses (exactly on the loopback,
    # whose arithmetic is the CPU's), and a GPU run resumes and samples
    argv = ["train", "--data", small_text, "--steps", "6", "--eval-every", "3", "--seed", "5"]
    cpu, gpu = str(tmp_path / "cpu"), str(tmp_path / "gpu")
    assert run(capsys, *argv, "--out", cpu, *TINY)[0] == 0
    assert run(capsys, *argv, "--out", gpu, "--device", "cuda", *TINY)[0] == 0
    tol = 0 if cuda_device == "loopback" else 1e-4
    for (step, a), (step_g, b) in zip(train_losses(cpu), train_losses(gpu)):
        assert step == step_g and abs(float(a) - float(b)) <= tol * max(1.0, abs(float(a)))
    code, _, err = run(capsys, "train", "--data", small_text, "--out", gpu, "--resume",
                       "--steps", "9", "--device", "cuda", *TINY)
    assert code == 0, err
    assert [s for s, _ in train_losses(gpu)][-1] == 9
    code, out, err = run(capsys, "sample", "--checkpoint", os.path.join(gpu, "best.safetensors"),
                         "--length", "40", "--seed", "1", "--device", "cuda")
    assert code == 0, err
    assert len(out) >= 40


def test_auto_threads_are_not_timed_on_a_gpu(cuda_device):
    # on 'cuda' the CPU's thread count does not change a step's kernels: timing steps at
    # 1 and at all cores would only cost time (and would pick from noise)
    from charrnn.threads import probe_threads
    previous = minigrad.get_num_threads()
    minigrad.set_num_threads(2)
    try:
        model = minigrad.nn.Linear(3, 2, device="cuda")
        threads, note = probe_threads(model, streams=None)
    finally:
        minigrad.set_num_threads(previous)
    assert threads == 2 and note == "auto: not timed, the GPU trains"


@pytest.mark.parametrize("argv", [
    ["train", "--batch", "0"], ["train", "--lr", "-1"], ["train", "--dropout", "1.5"],
    ["train", "--model", "transformer"], ["sample", "--temperature", "-0.5"],
    ["sample", "--top-k", "x"], [],
])
def test_bad_options_are_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        char_rnn.main(argv)
    _, err = capsys.readouterr()
    assert_one_line_error(exc.value.code, err)


def test_help_explains_every_option(capsys):
    for command in ("train", "sample"):
        with pytest.raises(SystemExit):
            char_rnn.main([command, "--help"])
        out, _ = capsys.readouterr()
        parser = char_rnn.build_parser()
        sub = parser._subparsers._group_actions[0].choices[command]
        for action in sub._actions:
            assert action.help, f"{command} {action.option_strings} has no help"
            for flag in action.option_strings:
                assert flag in out


# ---- sampling behaviour --------------------------------------------------------------------------


def sample_text(capsys, trained, *extra):
    code, out, err = run(capsys, "sample", "--checkpoint", trained, "--length", 150,
                         "--threads", 1, *extra)
    assert code == 0, err
    return out


def test_same_seed_same_text_other_seed_other_text(trained, capsys):
    a = sample_text(capsys, trained, "--seed", 11, "--temperature", 1.0)
    b = sample_text(capsys, trained, "--seed", 11, "--temperature", 1.0)
    c = sample_text(capsys, trained, "--seed", 12, "--temperature", 1.0)
    assert a == b
    assert a != c


def test_top_k_1_and_temperature_to_0_are_greedy(trained, capsys):
    greedy = [sample_text(capsys, trained, "--top-k", 1, "--seed", s) for s in (1, 2)]
    assert greedy[0] == greedy[1]                  # no randomness left
    assert sample_text(capsys, trained, "--temperature", 0) == greedy[0]
    assert sample_text(capsys, trained, "--temperature", 1e-3, "--seed", 3) == greedy[0]


def make_sampler(logits, temperature=1.0, top_k=0, seed=0):
    vocab = Vocab("abcdef"[:len(logits)])
    model = CharModel(len(vocab), embed=2, hidden=2, layers=1)
    row = minigrad.tensor([logits], dtype=minigrad.float32)
    return Sampler(model, vocab, temperature=temperature, top_k=top_k, seed=seed), row


def draw_counts(logits, n=3000, **kw):
    sampler, row = make_sampler(logits, **kw)
    counts = np.zeros(len(logits))
    for _ in range(n):
        counts[sampler.pick(row)] += 1
    return counts / n


def softmax(x):
    e = np.exp(np.asarray(x, dtype=np.float64) - max(x))
    return e / e.sum()


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_draws_follow_softmax_of_logits_over_temperature(temperature):
    logits = [0.5, 2.0, -1.0, 1.0, 0.0]
    freq = draw_counts(logits, temperature=temperature)
    expected = softmax(np.array(logits) / temperature)
    assert np.abs(freq - expected).max() < 0.04, (freq, expected)


def test_top_k_draws_only_the_k_most_likely():
    logits = [0.0, 5.0, 3.0, 1.0, 4.5]
    freq = draw_counts(logits, n=1500, top_k=2)
    assert freq[[0, 2, 3]].sum() == 0
    kept = softmax([5.0, 4.5])
    assert freq[1] == pytest.approx(kept[0], abs=0.05)
    assert freq[4] == pytest.approx(kept[1], abs=0.05)


def test_low_temperature_concentrates_high_temperature_spreads():
    logits = [1.0, 2.0, 0.0, 1.5]
    cold, hot = draw_counts(logits, temperature=0.1), draw_counts(logits, temperature=50.0)
    assert cold[1] > 0.98
    assert np.abs(hot - 0.25).max() < 0.05
