"""Training throughput [samples/s] of the VO2-neuron SNN vs an snntorch ``Leaky`` network of the same size and T.

Both networks: ``n_in -> hidden -> n_out`` fully connected, T steps, batch B, Adam, cross-entropy on output spike
counts, same inputs (Bernoulli rate-coded, pre-generated), same machine, same process, same thread count.
The VO2 network applies each Linear to the whole [T, B, N] tensor and runs the neuron recursion in the fused
kernel; the snntorch network is the tutorial pattern (Linear + Leaky per step, reset by subtraction).

Usage: ``python benchmarks/bench_snn.py [--hidden 256] [--steps 25] [--batch 128] [--iters 20] [--json]``
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F


def _vo2_net(n_in, hidden, n_out):
    from vo2neuro.snn.network import VO2MLP
    from vo2neuro.snn.presets import neuron_params_for_preset
    return VO2MLP(n_in, [hidden], n_out, neuron_params_for_preset("vo2x"), init_gain_input=4.0,
                  init_gain_spiking=12.0)


class _LeakyNet(torch.nn.Module):
    def __init__(self, n_in, hidden, n_out):
        super().__init__()
        import snntorch as snn
        from snntorch import surrogate
        self.fc1, self.fc2 = torch.nn.Linear(n_in, hidden), torch.nn.Linear(hidden, n_out)
        sg = surrogate.fast_sigmoid(slope=25)
        self.lif1, self.lif2 = snn.Leaky(beta=0.95, spike_grad=sg), snn.Leaky(beta=0.95, spike_grad=sg)

    def forward(self, x):
        mem1, mem2 = self.lif1.reset_mem(), self.lif2.reset_mem()
        rec = []
        for t in range(x.shape[0]):
            spk1, mem1 = self.lif1(self.fc1(x[t]), mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            rec.append(spk2)
        return torch.stack(rec)


def _throughput(net, x, y, iters, warmup=3):
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step():
        loss = F.cross_entropy(net(x).sum(0), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    return iters * x.shape[1] / (time.perf_counter() - t0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-in", type=int, default=784)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--n-out", type=int, default=10)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3, help="alternating repeats; the best of each is reported")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = (torch.rand(a.steps, a.batch, a.n_in) < 0.2).float()
    y = torch.randint(0, a.n_out, (a.batch,))
    vo2, leaky = _vo2_net(a.n_in, a.hidden, a.n_out), _LeakyNet(a.n_in, a.hidden, a.n_out)
    best_vo2 = best_leaky = 0.0
    for _ in range(a.repeats):  # alternate so that load changes hit both alike
        best_vo2 = max(best_vo2, _throughput(vo2, x, y, a.iters))
        best_leaky = max(best_leaky, _throughput(leaky, x, y, a.iters))
    res = {"vo2_samples_per_s": best_vo2, "snntorch_leaky_samples_per_s": best_leaky,
           "ratio": best_vo2 / best_leaky, "hidden": a.hidden, "steps": a.steps, "batch": a.batch,
           "n_in": a.n_in, "threads": a.threads, "torch": torch.__version__}
    if a.json:
        json.dump(res, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(f"VO2 {best_vo2:.0f} samples/s, snntorch Leaky {best_leaky:.0f} samples/s, "
              f"ratio {best_vo2 / best_leaky:.2f}x ({a.n_in}-{a.hidden}-{a.n_out}, T={a.steps}, B={a.batch})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
