"""Training throughput [samples/s] of the VO2-neuron SNN vs an snntorch ``Leaky`` network of the same size and T.

Both networks: ``n_in -> hidden -> n_out`` fully connected, T steps, batch B, Adam (lr 1e-3), cross-entropy on
output spike counts, the same pre-generated inputs and labels, the same process and the same torch thread count.
One "iteration" is forward + backward + optimiser step. Two input modes (``--input``):

* ``spikes``: Bernoulli rate-coded spikes ``[T, B, n_in]``;
* ``current``: the image as a constant input current ``[B, n_in]`` for all T steps (direct coding, the default
  of ``vo2neuro train`` and of snntorch's tutorial 5). snntorch's loop applies ``fc1`` to the same ``x`` every
  step, as in its tutorial; VO2MLP computes that constant product once and broadcasts it over T.

* VO2: :class:`vo2neuro.snn.VO2MLP` with the neuron of the ``vo2x`` preset. Each Linear acts on the whole
  ``[T, B, N]`` tensor; the neuron recursion runs in the compiled kernel (``vo2neuro.snn._fused``) when it is
  available, else in the pure-torch fused kernel. ``--with-torch-path`` also times the pure-torch kernel.
* snntorch: the tutorial pattern, ``Linear + snn.Leaky(beta=0.95, spike_grad=fast_sigmoid(slope=25))`` per
  step in a Python loop over T (reset by subtraction).

Method: per thread count, the extension is built/loaded and every model warmed up (``--warmup`` iterations,
excluded) first; then ``--repeats`` rounds, each timing ``--iters`` iterations of every model, alternating the
order between rounds so that load changes on a shared machine hit all alike. Reported: the median samples/s of
each model over the rounds and the median of the per-round ratios VO2/snntorch (paired, robust to load drift).

Usage: ``python benchmarks/bench_snn.py [--threads 1,2] [--input spikes,current] [--hidden 256] [--steps 25]
[--batch 128] [--repeats 7] [--with-torch-path] [--json]``

The compiled kernel is built at first use and cached (docs/numba-kernels.md, "The SNN's compiled kernel").
Measured figures: docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import statistics
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

    def forward(self, x, steps=None):
        mem1, mem2 = self.lif1.reset_mem(), self.lif2.reset_mem()
        rec = []
        for t in range(steps if steps is not None else x.shape[0]):
            spk1, mem1 = self.lif1(self.fc1(x if steps is not None else x[t]), mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            rec.append(spk2)
        return torch.stack(rec)


class _Trainer:
    """One model with its optimiser; ``run(n)`` times n iterations and returns samples/s."""

    def __init__(self, net, x, y, *, pure_torch=False, steps=None):
        self.net, self.x, self.y, self.pure_torch, self.steps = net, x, y, pure_torch, steps
        self.opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def _step(self):
        out = self.net(self.x) if self.steps is None else self.net(self.x, steps=self.steps)
        loss = F.cross_entropy(out.sum(0), self.y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    def run(self, iters):
        from unittest import mock

        from vo2neuro.snn import neuron
        ctx = mock.patch.object(neuron, "_compiled_ops_for", lambda *a: None) if self.pure_torch else _nullctx()
        with ctx:
            t0 = time.perf_counter()
            for _ in range(iters):
                self._step()
            return iters * self.y.shape[0] / (time.perf_counter() - t0)


class _nullctx:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _bench_threads(a, threads, x, y, steps=None):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    models = {"vo2": _Trainer(_vo2_net(a.n_in, a.hidden, a.n_out), x, y, steps=steps),
              "snntorch_leaky": _Trainer(_LeakyNet(a.n_in, a.hidden, a.n_out), x, y, steps=steps)}
    if a.with_torch_path:
        models["vo2_pure_torch"] = _Trainer(_vo2_net(a.n_in, a.hidden, a.n_out), x, y, pure_torch=True,
                                            steps=steps)
    for m in models.values():
        m.run(a.warmup)
    rates: dict[str, list[float]] = {k: [] for k in models}
    names = list(models)
    for r in range(a.repeats):
        for k in (names if r % 2 == 0 else names[::-1]):
            rates[k].append(models[k].run(a.iters))
    res = {f"{k}_samples_per_s": statistics.median(v) for k, v in rates.items()}
    res["ratio"] = statistics.median(v / s for v, s in zip(rates["vo2"], rates["snntorch_leaky"]))
    if a.with_torch_path:
        res["speedup_vs_pure_torch"] = statistics.median(
            v / s for v, s in zip(rates["vo2"], rates["vo2_pure_torch"]))
    res["threads"] = threads
    res["input"] = "current" if steps is not None else "spikes"
    res["rounds"] = {k: [round(v, 1) for v in vs] for k, vs in rates.items()}
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-in", type=int, default=784)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--n-out", type=int, default=10)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--iters", type=int, default=10, help="iterations per timed round")
    ap.add_argument("--warmup", type=int, default=3, help="untimed iterations per model and thread count")
    ap.add_argument("--repeats", type=int, default=7, help="alternating timed rounds; medians are reported")
    ap.add_argument("--threads", default="1,2", help="comma-separated torch thread counts")
    ap.add_argument("--with-torch-path", action="store_true", help="also time the pure-torch VO2 kernel")
    ap.add_argument("--input", default="spikes,current", help="comma-separated input modes: spikes, current")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    from vo2neuro.snn import _fused
    t0 = time.perf_counter()
    kernel = _fused.status()
    kernel["first_use_s"] = time.perf_counter() - t0
    torch.manual_seed(0)
    x_spk = (torch.rand(a.steps, a.batch, a.n_in) < 0.2).float()
    x_cur = torch.rand(a.batch, a.n_in)
    y = torch.randint(0, a.n_out, (a.batch,))
    runs = []
    for mode in a.input.split(","):
        for n in a.threads.split(","):
            if mode == "spikes":
                runs.append(_bench_threads(a, int(n), x_spk, y))
            elif mode == "current":
                runs.append(_bench_threads(a, int(n), x_cur, y, steps=a.steps))
            else:
                raise SystemExit(f"--input: unknown mode {mode!r}; valid: spikes, current")
    res = {"runs": runs, "kernel": kernel, "hidden": a.hidden, "steps": a.steps, "batch": a.batch,
           "n_in": a.n_in, "n_out": a.n_out, "iters": a.iters, "repeats": a.repeats, "torch": torch.__version__}
    if a.json:
        json.dump(res, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        k = "compiled kernel" if kernel["available"] else f"pure-torch kernel ({kernel['error']})"
        print(f"{a.n_in}-{a.hidden}-{a.n_out}, T={a.steps}, B={a.batch}; VO2 uses the {k}, "
              f"first use {kernel['first_use_s']:.2f} s")
        for r in runs:
            extra = (f", pure-torch VO2 {r['vo2_pure_torch_samples_per_s']:.0f} samples/s "
                     f"(compiled {r['speedup_vs_pure_torch']:.2f}x)" if a.with_torch_path else "")
            print(f"input={r['input']}, threads={r['threads']}: VO2 {r['vo2_samples_per_s']:.0f} samples/s, snntorch Leaky "
                  f"{r['snntorch_leaky_samples_per_s']:.0f} samples/s, ratio {r['ratio']:.2f}x{extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
