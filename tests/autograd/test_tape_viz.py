"""Seeing inside: the printed tape, the DOT graph, the per-op profile."""
import warnings

import minigrad as mg


def small_step():
    x = mg.randn(4, 3)
    w = mg.randn(3, 2, requires_grad=True)
    with mg.autograd.Tape() as tape:
        h = (x @ w).tanh()
        loss = (h * h).mean()
    return tape, loss, w


def test_tape_records_ops_in_order():
    tape, loss, w = small_step()
    assert [n.name for n in tape] == ["MatMul", "Tanh", "Mul", "Sum", "MulScalar"]
    text = str(tape)
    assert "MatMul" in text and "(4, 2)" in text and "float32" in text
    assert f"%{w._id}" in text.splitlines()[2]
    steps = [n.seq for n in tape]
    assert steps == sorted(steps)


def test_ops_outside_the_block_are_not_captured():
    tape, loss, w = small_step()
    n = len(tape)
    _ = loss * 2
    assert len(tape) == n


def test_to_dot_shows_ops_leaves_and_grad_norms():
    tape, loss, w = small_step()
    loss.backward()
    dot = mg.viz.to_dot(loss)
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    assert "MatMul" in dot and "Tanh" in dot and "leaf" in dot and "|grad|" in dot
    assert dot.count("->") >= 5


def test_draw_writes_a_file(tmp_path):
    tape, loss, w = small_step()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        written = mg.viz.draw(loss, str(tmp_path / "g.svg"))
    content = open(written).read()
    assert "MatMul" in content


def test_profile_counts_forward_and_backward():
    x = mg.randn(8, 8, requires_grad=True)
    with mg.autograd.Profile() as prof:
        (x.tanh() * x).sum().backward()
    names = {row[0] for row in prof.table()}
    assert {"Tanh", "Mul", "Sum", "Tanh (backward)", "Mul (backward)"} <= names
    assert "calls" in str(prof)
