"""snntorch -> NIR -> VO2-x hardware: train a small snntorch network on the 8x8 digits, export it to NIR, run it on
simulated VO2-x circuit neurons.

Run ``python examples/snntorch_to_vo2.py`` (``--quick`` for a smoke run). Writes ``<out>/snntorch_digits.nir`` and
``<out>/snntorch_to_vo2.json``, and prints snntorch's own accuracy against the VO2-x hardware accuracy and energy.

snntorch 1.0.0's own exporter (``snntorch.export_nir.export_to_nir``) fails type inference with every nir release
that has the ``LIF.v_reset`` field it writes (1.0.6-1.0.8) and cannot build its LIF with the older ones; when it
fails, the graph is built by hand with snntorch's own mapping (``Affine`` + ``LIF``, ``tau = dt/(1-beta)``,
``r = tau/dt``, ``v_leak = 0``, ``dt = 1e-4``), which is what it would have written.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import warnings
from pathlib import Path

import numpy as np
import torch

DT = 1e-4  # snntorch's NIR step


def build_net(hidden: int, beta: float):
    import snntorch as snn

    # reset to zero at once: what snntorch's NIR mapping (v_reset = 0) and importer (reset_mechanism="zero",
    # reset_delay=False) describe; snntorch's default, reset by subtraction, has no NIR LIF counterpart
    kw = dict(beta=beta, init_hidden=True, reset_mechanism="zero", reset_delay=False)
    return torch.nn.Sequential(torch.nn.Linear(64, hidden), snn.Leaky(**kw),
                               torch.nn.Linear(hidden, 10), snn.Leaky(**kw, output=True))


def counts(net, x: torch.Tensor, steps: int) -> torch.Tensor:
    """Output spike counts [B, 10] for constant input x over ``steps`` steps (direct/current coding)."""
    from snntorch import utils

    utils.reset(net)
    total = 0
    for _ in range(steps):
        spk, _mem = net(x)
        total = total + spk
    return total


def train(x, y, *, hidden: int, beta: float, steps: int, epochs: int, seed: int = 0):
    torch.manual_seed(seed)
    net = build_net(hidden, beta)
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(64):
            loss = torch.nn.functional.cross_entropy(0.5 * counts(net, x[idx], steps), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net


def to_nir(net, beta: float):
    """NIR graph of ``net``: snntorch's exporter, else the same mapping by hand (see the module docstring)."""
    import nir

    try:
        from snntorch.export_nir import export_to_nir

        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # nirtorch's notice about its own API
            return export_to_nir(net, torch.zeros(1, 64)), "snntorch.export_nir"
    except Exception as exc:  # noqa: BLE001 - any failure of the exporter falls back to the documented mapping
        why = f"{type(exc).__name__}: {' '.join(str(exc).split())[:120]}"
    lin = [m for m in net if isinstance(m, torch.nn.Linear)]
    nodes = []
    for m in lin:
        n = m.out_features
        tau = DT / (1.0 - beta)
        nodes.append(nir.Affine(weight=m.weight.detach().numpy(), bias=m.bias.detach().numpy()))
        nodes.append(nir.LIF(tau=np.full(n, tau), r=np.full(n, tau / DT), v_leak=np.zeros(n),
                             v_threshold=np.ones(n), v_reset=np.zeros(n)))
    return nir.NIRGraph.from_list(*nodes), f"by hand with snntorch's mapping (its exporter failed: {why})"


def main(argv: list[str] | None = None) -> int:
    import nir

    from vo2neuro.snn.data import load_digits
    from vo2neuro.snn.interop import nir_hw_eval

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short training, 60 test images (a smoke run)")
    ap.add_argument("--out", default="output/snntorch_to_vo2")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    epochs, n_images = (6, 60) if args.quick else (15, 450)
    hidden, beta, steps = 64, 0.8, 25
    tr, te = load_digits()
    (xtr, ytr), (xte, yte) = tr.tensors, te.tensors
    net = train(xtr, ytr, hidden=hidden, beta=beta, steps=steps, epochs=epochs)
    with torch.no_grad():
        own = float((counts(net, xte[:n_images], steps).argmax(1) == yte[:n_images]).double().mean())
    graph, how = to_nir(net, beta)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "snntorch_digits.nir"
    nir.write(str(path), graph)
    res = nir_hw_eval(path, dataset="digits", n_images=n_images, steps=steps)
    summary = {"export": how, "snntorch_accuracy": own, "nir_software_accuracy": res.source_accuracy,
               "vo2_software_accuracy": res.vo2_software_accuracy, "vo2_hardware_accuracy": res.accuracy,
               "energy_per_inference_j": res.energy_per_inference_j, "latency_s": res.latency_s,
               "n_images": res.n_images, "dilation": res.dilation, "mapping": res.mapping}
    (out / "snntorch_to_vo2.json").write_text(json.dumps(summary, indent=2))
    print(f"export: {how}")
    print(f"snntorch accuracy {own:.3f}  NIR (software) {res.source_accuracy:.3f}  VO2-x hardware {res.accuracy:.3f}  "
          f"({res.n_images} digits test images)")
    print(f"energy per inference {res.energy_per_inference_j * 1e6:.3g} uJ  latency {res.latency_s * 1e6:.3g} us  "
          f"(VO2-x circuit neurons, {res.preset})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
