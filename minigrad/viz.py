"""Drawing the graph behind a tensor: Graphviz DOT text, and SVG/PNG when the
`dot` program is installed.

    print(minigrad.viz.to_dot(loss))
    minigrad.viz.draw(loss, "graph.svg")

Ops are boxes (with the shape and dtype they produced), leaves are ellipses
(with the norm of their gradient once backward has run).  Arrows point the way
values flow in the forward pass; backward walks them in reverse.
"""
import os
import shutil
import subprocess
import warnings

from minigrad.autograd import grad_mode


def _fmt_shape(shape, dtype):
    return f"{tuple(shape)} {dtype}"


def _grad_norm(t):
    if t.grad is None:
        return None
    with grad_mode.no_grad():
        g = t.grad
        return float((g * g).sum().sqrt().item())


def to_dot(tensor, name="minigrad"):
    """DOT text of the recorded graph that produced `tensor`."""
    lines = [f"digraph {name} {{", '  node [fontname="Helvetica", fontsize=10];',
             "  rankdir=TB;"]
    out_label = f"output %{tensor._id}\\n{_fmt_shape(tensor.shape, tensor.dtype)}"
    lines.append(f'  out [label="{out_label}", shape=doubleoctagon, style=filled, '
                 f'fillcolor="#fde68a"];')
    if tensor._node is None:
        lines.append("}")
        return "\n".join(lines)
    seen, leaves, stack = set(), {}, [tensor._node]
    node_lines, edge_lines = [], []
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        meta = "\\n".join(_fmt_shape(s, d) for s, d in node.out_meta)
        node_lines.append((node.seq, f'  n{node.seq} [label="{node.name}\\n{meta}", shape=box, '
                          f'style="rounded,filled", fillcolor="#dbeafe"];'))
        for edge in node.inputs:
            if edge is None:
                continue
            if type(edge) is tuple:
                parent = edge[0]
                edge_lines.append(f"  n{parent.seq} -> n{node.seq};")
                stack.append(parent)
            else:
                leaves[edge._id] = edge
                edge_lines.append(f"  t{edge._id} -> n{node.seq};")
    for input_id, leaf in sorted(leaves.items()):
        label = f"leaf %{input_id}\\n{_fmt_shape(leaf.shape, leaf.dtype)}"
        norm = _grad_norm(leaf)
        if norm is not None:
            label += f"\\n|grad| = {norm:.4g}"
        lines.append(f'  t{input_id} [label="{label}", shape=ellipse, style=filled, '
                     f'fillcolor="#dcfce7"];')
    lines += [text for _, text in sorted(node_lines)] + sorted(set(edge_lines))
    lines.append(f"  n{tensor._node.seq} -> out;")
    lines.append("}")
    return "\n".join(lines)


def draw(tensor, path):
    """Render the graph behind `tensor` to `path` (.svg, .png or .pdf) with Graphviz.
    Without the `dot` program, writes the DOT text to path + '.dot' (or path itself when
    it ends in .dot), says so with a warning, and returns the path written."""
    text = to_dot(tensor)
    root, ext = os.path.splitext(path)
    fmt = ext.lstrip(".").lower()
    if fmt == "dot":
        with open(path, "w") as f:
            f.write(text)
        return path
    dot = shutil.which("dot")
    if dot is None:
        dot_path = path + ".dot"
        with open(dot_path, "w") as f:
            f.write(text)
        warnings.warn(f"Graphviz 'dot' not found; wrote the DOT text to {dot_path} "
                      f"(render it with: dot -T{fmt or 'svg'} {dot_path} -o {path})")
        return dot_path
    subprocess.run([dot, f"-T{fmt or 'svg'}", "-o", path], input=text.encode(), check=True)
    return path
