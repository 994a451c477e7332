"""Recurrent-net training on the GPU: minigrad's CUDA backend beside PyTorch's cuDNN.

The model is benchmarks/rnn.py's (embedding 64 -> LSTM or GRU -> linear decoder to
65 classes -> cross-entropy -> Adam step), at rnn.py's three sizes plus
(H=1024, 2 layers, B=128, T=128).  For each it measures training tokens/s of

    minigrad cuda   nn.LSTM/GRU(..., device='cuda'), fused CUDA kernels
    torch cuda      nn.LSTM/GRU on the GPU (cuDNN)

and, at the largest size, minigrad on this machine's CPU (all cores) for the
"GPU >= 10x CPU" comparison.  Every step ends with a device synchronisation, so
a step's time is its whole work; figures are medians.  PyTorch runs in true float32
(TF32 off), as minigrad does.  Needs a minigrad built with
MINIGRAD_CUDA=1 and a visible GPU (benchmarks/gpu_check.sh does both).

    python benchmarks/rnn_gpu.py                 # everything (a few minutes on an H100)
    python benchmarks/rnn_gpu.py --modes lstm --configs 3 --no-cpu
    python benchmarks/rnn_gpu.py --profile --modes lstm --configs 0,3   # where the time goes

--profile measures nothing: it records a few minigrad training steps per row with
PyTorch's profiler (CUPTI sees every kernel in the process, minigrad's too) and prints
the GPU time per kernel, and the GPU's busy share of the steps' wall time: far under
100% means the step waits on launches and Python, not on the kernels; then the host's
time per function (cProfile) over the same steps.
"""
import argparse
import json
import os

import common
import rnn

CONFIGS = rnn.CONFIGS + [(1024, 2, 128, 128)]
MODES = ("lstm", "gru")


def minigrad_step(mode, config, device):
    import minigrad as mg
    train, _ = rnn.minigrad_model(mode, config, "fused", device=device)
    if device == "cpu":
        return train

    def step():
        train()
        mg.cuda.synchronize()
    return step


def torch_step(mode, config):
    import torch
    train, _ = rnn.torch_model(mode, config, cell_loop=False, device="cuda")

    def step():
        train()
        torch.cuda.synchronize()
    return step


def tokens_per_second(step, config, budget):
    seconds = common.measure(step, repeat=7, warmup=2, min_time=0.0, budget=budget)
    return config[2] * config[3] / seconds


def profile_steps(step, label, steps=3):
    """Print the GPU time per kernel over `steps` calls of step() (PyTorch's profiler)."""
    import time
    import torch
    from torch.profiler import ProfilerActivity, profile
    step()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        wall = (time.perf_counter() - start) / steps
    kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    busy = sum(e.device_time for e in kernels) / steps / 1e6  # device_time is in us
    print(f"\n{label}: {wall * 1e3:.2f} ms per step, GPU busy {busy * 1e3:.2f} ms "
          f"({100 * busy / wall:.0f}%), {len(kernels) / steps:.0f} kernels per step")
    print(prof.key_averages().table(sort_by="self_device_time_total", row_limit=12,
                                    max_name_column_width=70))
    # the host's side: where the CPU spends a step (minigrad's C calls show as built-in
    # methods; their time is launches, cuBLAS's host work and waits)
    import cProfile
    import pstats
    host = cProfile.Profile()
    host.enable()
    for _ in range(steps):
        step()
    host.disable()
    print(f"{label}: host time per function over {steps} steps (cProfile)")
    pstats.Stats(host).sort_stats("tottime").print_stats(15)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default=",".join(MODES), help="lstm,gru")
    parser.add_argument("--configs", default="0,1,2,3", help="indices into " + str(CONFIGS))
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per measurement")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU comparison")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--profile", action="store_true",
                        help="print each row's kernels and GPU busy share instead of timing")
    args = parser.parse_args()
    import minigrad as mg
    mg.cuda.require("benchmarks/rnn_gpu.py")
    torch = common.optional_torch()
    if torch is not None:
        # true float32 on both sides: PyTorch would otherwise let cuDNN and cuBLAS round
        # the products' inputs to TF32 (10-bit mantissa), which minigrad never does
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    card = mg.cuda.get_device_name(0)
    print(f"{card} | minigrad {mg.BUILD_INFO} | torch {getattr(torch, '__version__', '-')}"
          f" (cuDNN {torch.backends.cudnn.version() if torch is not None else '-'})")
    rows, records = [], []
    configs = [CONFIGS[int(i)] for i in args.configs.split(",")]
    for mode in args.modes.split(","):
        for config in configs:
            name = "H%d L%d B%d T%d" % config
            if args.profile:
                profile_steps(minigrad_step(mode, config, "cuda"), f"minigrad {mode} {name}")
                continue
            mine = tokens_per_second(minigrad_step(mode, config, "cuda"), config, args.budget)
            theirs = None
            if torch is not None and torch.cuda.is_available():
                theirs = tokens_per_second(torch_step(mode, config), config, args.budget)
            cpu = None
            if not args.no_cpu and config == CONFIGS[-1]:
                mg.set_num_threads(os.cpu_count() or 1)
                cpu = tokens_per_second(minigrad_step(mode, config, "cpu"), config,
                                        args.budget)
            rows.append([mode, name, common.fmt(mine, 0), common.fmt(theirs, 0),
                         common.ratio(mine, theirs), common.fmt(cpu, 0),
                         common.ratio(mine, cpu)])
            records.append({"mode": mode, "config": config, "minigrad_cuda_tok_s": mine,
                            "torch_cudnn_tok_s": theirs, "minigrad_cpu_tok_s": cpu,
                            "card": card})
    if args.profile:
        return
    common.print_table(
        "RNN training tokens/s on the GPU, medians (x cuDNN: minigrad / PyTorch cuDNN; "
        "target LSTM >= 0.5x at the largest size; x CPU: minigrad GPU / minigrad CPU, "
        "target >= 10x)",
        ["mode", "config", "minigrad cuda", "torch cudnn", "x cuDNN", "minigrad cpu",
         "x CPU"], rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
