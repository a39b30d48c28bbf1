r"""NIR interoperability: export trained VO2 networks to the Neuromorphic Intermediate Representation and run NIR
graphs (snntorch, Norse, any NIR producer) on VO2-x hardware.

Time convention. NIR is written in continuous time, but every simulator that reads it steps it with its own ``dt``
(snntorch: 1e-4 s, hard-coded in its importer; :data:`NIR_DT`). One step of the NIR graph is one network step
of the VO2 network (``VO2NeuronParams.dt``); the graph's metadata records both (``time_scale``).

Export (:func:`export_checkpoint`). Each ``Linear -> VO2Neuron`` layer of a checkpoint becomes ``Affine -> LIF``.
The Affine weights stay in rheobase units (the drive ``x``; the current is ``I = I_rh x``). The LIF is the
standard NIR neuron that best matches the VO2 neuron as the ecosystem reads it (snntorch's mapping,
``tau = dt/(1-beta)``, reset to rest, no refractory period):

.. math:: u_{t+1} = \beta u_t + (1-\beta) r x_t,\qquad \text{spike if } u > \theta,\ u \to 0,

with the voltage measured from the rest (bias) voltage, ``v_leak = 0`` (snntorch's importer refuses any other; the
shift of origin is exact) and ``r = v_th - v_bias`` [V per rheobase unit]. With ``beta = exp(-dt/tau)`` and
``theta = 1`` rheobase this is the VO2 neuron below threshold, exactly. The VO2 neuron then resets to ``v_h``
(below its rest) and stays metallic for ``n_ref`` steps, which NIR's LIF cannot express, and latches above
``i_max`` (the LIF keeps firing). ``beta`` and ``theta`` are therefore chosen per layer (:func:`fit_lif_network`):
starting from the grid fit of the LIF's spike count over the training window ``T`` from rest to the VO2 neuron's
(:func:`fit_lif`, constant drives from the rheobase to ``i_max``), a grid over ``(beta, theta)`` and a pass over
each layer's threshold keep the LIF network whose predictions agree best with the VO2 network's on 600 training
images (measured: the VO2 neuron's own decay and threshold, i.e. its exact subthreshold dynamics, usually wins).
The node metadata state that agreement and the count error of the chosen LIF (rms and largest difference of the
spike count per window over the working range: the LIF stand-in trades count accuracy for the same ranking of the
classes). The exact VO2 description (checkpoint config, neuron parameters, device record and circuit) is
stored as JSON under ``metadata["vo2neuro"]``, so a re-import into vo2neuro is exact.

Import (:func:`read_network`, :func:`nir_hw_eval`). A chain ``Input -> (Affine|Linear -> LIF|CubaLIF|IF)... ->
Output`` is read; anything else names the node and its type. A graph written by vo2neuro is rebuilt exactly (same
weights, neuron and device). Any other graph is simulated in torch as NIR describes it (forward Euler with step
``dt``, the snntorch convention: :func:`simulate`), which gives the source network's own accuracy, and each
population is mapped onto VO2-x circuit neurons of the device (default vo2x; :func:`map_population`): the drive of
the VO2 neuron is an affine function of the source neuron's drive, ``y = s x + c`` [rheobase units], fitted (grid,
then least squares) so that the VO2 neuron's spike count over ``k T`` steps matches the source neuron's count over
``T`` steps at the drives the network actually sees on 600 training images (their quantiles). ``k`` (time
dilation, 1-4) lets the VO2 neuron, which fires at most every ``n_ref + 1`` steps, reach the source's rates; a
presynaptic spike then carries ``k s W`` for one VO2 step, the same charge per source step. Two last passes
(:func:`refine_maps`, coarse then fine) scale and shift each layer's map to maximise the agreement of the mapped VO2
network with the source network on those training images, then its margin, also with a 5 % spread of the neurons'
drives (the circuit's device-to-device spread of the onset). The count error of each map and that agreement are
reported. The circuit level then runs as :func:`vo2neuro.snn.hardware.hw_eval` runs a checkpoint
(:func:`vo2neuro.snn.hardware.run_circuit`).
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vo2neuro.units import ParameterError

__all__ = ["NIR_DT", "META_KEY", "NIRNetwork", "NIRLayer", "export_checkpoint", "write_checkpoint_nir",
           "read_network", "network_from_graph", "simulate", "vo2_counts", "lif_counts", "LIFFit", "fit_lif",
           "count_error", "fit_lif_network", "PopulationMap", "map_population", "refine_maps", "NIRHWResult",
           "nir_hw_eval"]

#: Step of the NIR graph a consumer is assumed to use [s] (snntorch's importer hard-codes it).
NIR_DT = 1e-4
#: Graph metadata key holding the exact vo2neuro description (JSON text).
META_KEY = "vo2neuro"
#: Format of the ``vo2neuro`` metadata record.
META_FORMAT = 1
#: Neuron node types that :func:`read_network` maps onto VO2 neurons.
NEURON_TYPES = ("LIF", "CubaLIF", "IF")
_SYNAPSE_TYPES = ("Affine", "Linear")


@contextlib.contextmanager
def _one_thread():
    """One torch intra-op thread for the small GEMMs of the fits and simulations (on a shared 2-core machine
    OpenMP spin-waiting with 2 threads was 7x slower: 1.17 s against 0.17 s per 600-image run)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


# ---------------------------------------------------------------------------------------------- neuron models
def vo2_counts(x, p, steps: int) -> np.ndarray:
    """Spikes of the discrete VO2 neuron (:func:`vo2neuro.snn.neuron.vo2_step`) over ``steps`` steps from rest under
    constant drives ``x`` [rheobase units] (any shape) [-]."""
    import torch

    from vo2neuro.snn.neuron import initial_state, vo2_sequence

    i = torch.as_tensor(np.asarray(x, float) * p.rheobase, dtype=torch.float64)
    seq = i.unsqueeze(0).expand(int(steps), *i.shape)
    with torch.no_grad():
        z, _ = vo2_sequence(seq, initial_state(i, p), p)
    return z.sum(0).numpy()


def lif_counts(x, beta, theta, steps: int) -> np.ndarray:
    """Spikes over ``steps`` steps from rest of ``u' = beta u + (1 - beta) x``, spike if ``u > theta``, reset to 0
    (snntorch's Leaky with ``reset_mechanism="zero"``), for drives ``x`` [threshold-free units]. ``x``, ``beta`` and
    ``theta`` broadcast [-]."""
    x, beta, theta = np.broadcast_arrays(np.asarray(x, float), np.asarray(beta, float), np.asarray(theta, float))
    u = np.zeros(x.shape)
    n = np.zeros(x.shape)
    for _ in range(int(steps)):
        u = beta * u + (1.0 - beta) * x
        z = u > theta
        n += z
        u = np.where(z, 0.0, u)
    return n


@dataclass(frozen=True)
class LIFFit:
    """The LIF standing for a VO2 neuron: ``beta`` [-], threshold ``theta`` [rheobase units], count errors over the
    working range of drives ``x_lo..x_hi`` [rheobase units] in a window of ``steps`` steps [spikes]."""

    beta: float
    theta: float
    rms_count_error: float
    max_count_error: float
    mean_count: float
    x_lo: float
    x_hi: float
    steps: int

    def to_dict(self) -> dict[str, Any]:
        return {"beta": self.beta, "theta_rheobase": self.theta, "rms_count_error": self.rms_count_error,
                "max_count_error": self.max_count_error, "mean_vo2_count": self.mean_count,
                "x_lo_rheobase": self.x_lo, "x_hi_rheobase": self.x_hi, "window_steps": self.steps,
                "method": "grid search of (beta, theta) on spike counts from rest over the window, constant drives "
                          "from the rheobase to the top of the oscillation window"}


def fit_lif(p, steps: int, *, n_points: int = 48) -> LIFFit:
    """Fit ``(beta, theta)`` of the reset-to-rest LIF (:func:`lif_counts`) to the VO2 neuron's counts
    (:func:`vo2_counts`) over ``steps`` steps, drives from the rheobase to ``i_max`` (rheobase units)."""
    x = np.linspace(1.0, p.i_max / p.rheobase, n_points + 1)[1:] * (1 - 1e-9)
    target = vo2_counts(x, p, steps)
    betas = np.linspace(0.0, 0.98, 50)
    thetas = np.geomspace(0.3, 0.999 * float(x.max()), 120)
    B, TH = np.meshgrid(betas, thetas, indexing="ij")
    c = lif_counts(x[None, None, :], B[..., None], TH[..., None], steps)
    err = np.sqrt(np.mean((c - target) ** 2, axis=-1))
    k = np.unravel_index(np.argmin(err), err.shape)
    best = c[k]
    return LIFFit(beta=float(B[k]), theta=float(TH[k]), rms_count_error=float(err[k]),
                  max_count_error=float(np.max(np.abs(best - target))), mean_count=float(np.mean(target)),
                  x_lo=float(x[0]), x_hi=float(x[-1]), steps=int(steps))


def count_error(p, steps: int, beta: float, theta: float, *, n_points: int = 48) -> tuple[float, float]:
    """rms and largest count difference [spikes per window] between the LIF ``(beta, theta)`` and the VO2 neuron
    over the working range of :func:`fit_lif`."""
    x = np.linspace(1.0, p.i_max / p.rheobase, n_points + 1)[1:] * (1 - 1e-9)
    d = lif_counts(x, beta, theta, steps) - vo2_counts(x, p, steps)
    return float(np.sqrt(np.mean(d**2))), float(np.max(np.abs(d)))


def _lif_net(lin, params, x, steps: int) -> np.ndarray:
    """Output counts of the reset-to-rest LIF network (``params``: (beta, theta) per layer) on constant inputs."""
    layers = [NIRLayer(f"l{j}", W, b, "LIF", {"tau": np.full(W.shape[0], NIR_DT / (1.0 - be)),
                                                 "r": np.ones(W.shape[0]), "v_leak": np.zeros(W.shape[0]),
                                                 "v_threshold": np.full(W.shape[0], th),
                                                 "v_reset": np.zeros(W.shape[0])})
              for j, ((W, b), (be, th)) in enumerate(zip(lin, params))]
    return simulate(NIRNetwork(layers, None, ""), x, steps, dt=NIR_DT)


def fit_lif_network(ck, fit: LIFFit, *, n_fit: int = 600) -> tuple[list[tuple[float, float]], float]:
    """``(beta, theta)`` per layer that maximise the agreement of the LIF network's predictions with the VO2
    network's on the first ``n_fit`` training images: a global grid (with the count fit of :func:`fit_lif` and the
    VO2 neuron's own decay and threshold, which usually wins), then
    one pass over each layer's threshold. Returns the parameters and the agreement reached [-]."""
    import torch

    from vo2neuro.snn.data import load_dataset
    from vo2neuro.snn.train import class_counts

    cfg = ck.config
    train_ds, _ = load_dataset(cfg.dataset, cfg.data_dir)
    x = train_ds.tensors[0][:n_fit]
    n_cls, pop = ck.n_classes, cfg.population
    with torch.no_grad():
        target = class_counts(ck.model(), x, encoding="current", steps=cfg.steps, population=pop,
                              n_classes=n_cls).argmax(1).numpy()
    lin = [(ck.weights[f"linears.{k}.weight"].detach().cpu().numpy(),
            ck.weights[f"linears.{k}.bias"].detach().cpu().numpy()) for k in range(len(ck.sizes) - 1)]
    xs = x.numpy()

    def agree(params) -> float:
        c = _lif_net(lin, params, xs, cfg.steps)
        return float(np.mean(c.reshape(len(xs), n_cls, pop).sum(-1).argmax(1) == target))

    n_l = len(lin)
    # candidates: the count fit, the VO2 neuron's own decay and threshold (its exact subthreshold dynamics), a grid
    cands = [(fit.beta, fit.theta), (ck.neuron.decay, 1.0)] + [(be, th) for be in (0.0, 0.2, 0.4, 0.6, 0.8, 0.9)
                                                               for th in (0.5, 0.7, 0.85, 1.0, 1.2, 1.5)]
    best_a, best = -1.0, None
    for c in cands:
        a = agree([c] * n_l)
        if a > best_a:
            best_a, best = a, [c] * n_l
    for j in range(n_l):
        be, th = best[j]
        for f in (0.8, 0.9, 1.1, 1.25):
            trial = best[:j] + [(be, th * f)] + best[j + 1:]
            a = agree(trial)
            if a > best_a:
                best_a, best = a, trial
    return best, best_a


# ---------------------------------------------------------------------------------------------- export
def _lif_node(p, fit: dict[str, Any], n: int, dt_nir: float):
    import nir

    span = p.v_th - p.v_bias  # volts per rheobase unit of drive
    tau = dt_nir / (1.0 - fit["beta"])
    full = lambda v: np.full(n, float(v))  # noqa: E731
    meta = {"vo2_neuron": json.dumps(p.to_dict()), "lif_fit": json.dumps(fit),
            "voltage_origin": "rest (bias) voltage v_bias of the VO2 neuron [V]", "input_unit": "rheobase [-]"}
    return nir.LIF(tau=full(tau), r=full(span), v_leak=full(0.0), v_threshold=full(fit["theta_rheobase"] * span),
                   v_reset=full(0.0), metadata=meta)


def export_checkpoint(checkpoint, *, dt_nir: float = NIR_DT):
    """The NIR graph (``nir.NIRGraph``) of the checkpoint ``checkpoint`` (a path; see the module docstring)."""
    import nir

    from vo2neuro.snn import checkpoint as _ckpt

    if not (isinstance(dt_nir, (int, float)) and math.isfinite(dt_nir) and dt_nir > 0):
        raise ParameterError(f"dt_nir must be a finite step > 0 [s], got {dt_nir!r}")
    ck = _ckpt.load(checkpoint)
    cfg, p = ck.config, ck.neuron
    if getattr(cfg, "arch", "mlp") != "mlp":
        raise ParameterError(f"checkpoint: {ck.path}: a convolutional network ({cfg.arch}) cannot be exported yet; "
                             "only fully connected ones (--arch mlp) [-]")
    if cfg.encoding != "current":
        raise ParameterError(f"checkpoint: {ck.path}: encoding {cfg.encoding!r} cannot be exported (the graph's input "
                             "is the constant current of each pixel); train with --encoding current [-]")
    with _one_thread():
        fit = fit_lif(p, cfg.steps)
        per_layer, agreement = fit_lif_network(ck, fit)
    fits = []
    for be, th in per_layer:
        rms, worst = count_error(p, cfg.steps, be, th)
        fits.append({**fit.to_dict(), "beta": be, "theta_rheobase": th, "rms_count_error": rms,
                     "max_count_error": worst, "train_agreement": agreement,
                     "method": "(beta, theta) maximising the agreement of the LIF network's predictions with the "
                               "VO2 network's on 600 training images (start: grid search on spike counts from "
                               "rest, constant drives from the rheobase to the top of the oscillation window)"})
    nodes: dict[str, Any] = {"input": nir.Input(input_type=np.array([ck.sizes[0]]))}
    edges, prev = [], "input"
    for k in range(len(ck.sizes) - 1):
        W = ck.weights[f"linears.{k}.weight"].detach().cpu().numpy()
        b = ck.weights[f"linears.{k}.bias"].detach().cpu().numpy()
        nodes[f"fc{k}"] = nir.Affine(weight=W, bias=b)
        nodes[f"lif{k}"] = _lif_node(p, fits[k], W.shape[0], dt_nir)
        edges += [(prev, f"fc{k}"), (f"fc{k}", f"lif{k}")]
        prev = f"lif{k}"
    nodes["output"] = nir.Output(output_type=np.array([ck.sizes[-1]]))
    edges.append((prev, "output"))
    record = {"format": META_FORMAT, "config": cfg.to_dict(), "neuron": p.to_dict(), "sizes": list(ck.sizes),
              "device": _ckpt.device_record(ck.device) if ck.device is not None else None,
              "circuit": ck.circuit, "dt_nir_s": float(dt_nir), "checkpoint": Path(ck.path).name,
              "population": cfg.population, "steps": cfg.steps, "dataset": cfg.dataset}
    meta = {META_KEY: json.dumps(record, default=float), "producer": "vo2neuro",
            "time_scale": float(dt_nir / p.dt), "dt_nir_s": float(dt_nir), "network_dt_s": float(p.dt),
            "lif_fit": {f"lif{k}": f for k, f in enumerate(fits)}, "lif_train_agreement": agreement,
            "population": int(cfg.population), "window_steps": int(cfg.steps),
            "dataset": cfg.dataset, "input_coding": "constant drive (pixel value) every step",
            "readout": "class with most output spikes summed over its population"}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def write_checkpoint_nir(checkpoint, out, *, dt_nir: float = NIR_DT) -> dict[str, Any]:
    """Export ``checkpoint`` to the NIR file ``out`` (``nir.write``); returns a summary (JSON-ready)."""
    import nir

    g = export_checkpoint(checkpoint, dt_nir=dt_nir)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # the permissions of an ordinary new file, not mkstemp's 0600
    try:  # written whole or not at all (h5py needs a path it can reopen, so no atomic_write stream)
        nir.write(tmp, g)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    rec = json.loads(g.metadata[META_KEY])
    return {"output": str(out), "nodes": {k: type(v).__name__ for k, v in g.nodes.items()},
            "sizes": rec["sizes"], "lif_fit": g.metadata["lif_fit"],
            "lif_train_agreement": g.metadata["lif_train_agreement"], "dt_nir_s": dt_nir,
            "network_dt_s": rec["neuron"]["dt"], "population": rec["population"], "window_steps": rec["steps"]}


# ---------------------------------------------------------------------------------------------- import
@dataclass
class NIRLayer:
    """One ``synapse -> neuron`` stage of a NIR graph: weight ``[n_out, n_in]``, bias, neuron kind and parameters
    (per-neuron arrays, SI as in NIR)."""

    name: str
    weight: np.ndarray
    bias: np.ndarray
    kind: str
    params: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class NIRNetwork:
    """A NIR chain ready to run: its layers, and the vo2neuro record when vo2neuro wrote it (else None)."""

    layers: list[NIRLayer]
    record: dict[str, Any] | None
    source: str

    @property
    def sizes(self) -> tuple[int, ...]:
        return (int(self.layers[0].weight.shape[1]), *[int(L.weight.shape[0]) for L in self.layers])


def _arr(v, n: int) -> np.ndarray:
    a = np.asarray(v, float).ravel()
    return np.full(n, float(a[0])) if a.size == 1 else a


def network_from_graph(graph, source: str = "graph") -> NIRNetwork:
    """Read the chain of ``graph`` (a ``nir.NIRGraph``); ParameterError naming any node that cannot be used."""
    import nir

    where = f"nir: {source}"
    nodes, edges = dict(graph.nodes), list(graph.edges)
    for name, node in nodes.items():
        kind = type(node).__name__
        if kind not in ("Input", "Output", *_SYNAPSE_TYPES, *NEURON_TYPES):
            raise ParameterError(f"{where}: node {name!r} of type {kind} is not supported (supported: Input, Output, "
                                 f"{', '.join(_SYNAPSE_TYPES)}, {', '.join(NEURON_TYPES)}) [-]")
    nxt: dict[str, list[str]] = {}
    for a, b in edges:
        nxt.setdefault(a, []).append(b)
    starts = [k for k, v in nodes.items() if isinstance(v, nir.Input)]
    if len(starts) != 1:
        raise ParameterError(f"{where}: expected one Input node, found {len(starts)} [-]")
    chain, cur, seen = [], starts[0], {starts[0]}
    while True:
        outs = nxt.get(cur, [])
        if not outs:
            break
        if len(outs) > 1:
            raise ParameterError(f"{where}: node {cur!r} feeds {len(outs)} nodes ({', '.join(outs)}); only a "
                                 "feed-forward chain is supported [-]")
        cur = outs[0]
        if cur in seen:
            raise ParameterError(f"{where}: node {cur!r} closes a loop (recurrent graphs are not supported) [-]")
        if cur not in nodes:
            raise ParameterError(f"{where}: an edge leads to {cur!r}, which is not a node of the graph [-]")
        seen.add(cur)
        chain.append(cur)
    if not chain or not isinstance(nodes[chain[-1]], nir.Output):
        raise ParameterError(f"{where}: the chain from the Input node does not end in an Output node [-]")
    body = chain[:-1]
    layers: list[NIRLayer] = []
    if len(body) % 2 or not body:
        raise ParameterError(f"{where}: expected (Affine|Linear -> LIF|CubaLIF|IF) pairs between Input and Output, "
                             f"got {' -> '.join(f'{n} ({type(nodes[n]).__name__})' for n in body) or 'nothing'} [-]")
    for syn, neu in zip(body[::2], body[1::2]):
        s, n = nodes[syn], nodes[neu]
        if type(s).__name__ not in _SYNAPSE_TYPES:
            raise ParameterError(f"{where}: node {syn!r} of type {type(s).__name__} stands where a synapse (Affine or "
                                 "Linear) is expected [-]")
        if type(n).__name__ not in NEURON_TYPES:
            raise ParameterError(f"{where}: node {neu!r} of type {type(n).__name__} stands where a neuron (LIF, "
                                 "CubaLIF or IF) is expected [-]")
        W = np.asarray(s.weight)
        if W.ndim != 2:
            raise ParameterError(f"{where}: node {syn!r} has a weight of shape {W.shape}; expected [n_out, n_in] [-]")
        b = np.asarray(s.bias) if isinstance(s, nir.Affine) else np.zeros(W.shape[0], W.dtype)
        if layers and W.shape[1] != layers[-1].weight.shape[0]:
            raise ParameterError(f"{where}: node {syn!r} takes {W.shape[1]} inputs but the layer before it has "
                                 f"{layers[-1].weight.shape[0]} neurons [-]")
        m = W.shape[0]
        names = {"LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
                 "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
                 "IF": ("r", "v_threshold", "v_reset")}[type(n).__name__]
        prm = {}
        for k in names:
            v = getattr(n, k, None)
            if v is None and k == "v_reset":
                v = getattr(n, "v_leak", 0.0)
            a = _arr(v, m)
            if a.size != m or not np.all(np.isfinite(a)):
                raise ParameterError(f"{where}: node {neu!r} ({type(n).__name__}) has {a.size} finite values of {k} "
                                     f"for {m} neurons [-]")
            prm[k] = a
        for k in ("tau", "tau_syn", "tau_mem"):
            if k in prm and np.any(prm[k] <= 0):
                raise ParameterError(f"{where}: node {neu!r} has {k} <= 0 [s]")
        layers.append(NIRLayer(neu, W.astype(np.float32), b.astype(np.float32), type(n).__name__, prm,
                               dict(getattr(n, "metadata", None) or {})))
    rec = graph.metadata.get(META_KEY) if isinstance(graph.metadata, dict) else None
    record = json.loads(rec) if isinstance(rec, (str, bytes)) else None
    return NIRNetwork(layers, record, source)


def _lif_fits(net: NIRNetwork) -> list[str]:
    """The ``lif_fit`` metadata (JSON text) of each neuron layer of a vo2neuro graph ("{}" where absent)."""
    return [str(L.meta.get("lif_fit", "{}")) for L in net.layers]


def read_network(path) -> NIRNetwork:
    """:func:`network_from_graph` of the NIR file ``path`` (``nir.read``); a file nir cannot read is refused."""
    import nir

    try:
        g = nir.read(str(path))
    except (OSError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ParameterError(f"nir: {path}: not a readable NIR graph ({type(exc).__name__}: "
                             f"{' '.join(str(exc).split())[:160]}) [-]") from None
    return network_from_graph(g, str(path))


# ---------------------------------------------------------------------------------------------- software run
def simulate(net: NIRNetwork, x, steps: int, *, dt: float = NIR_DT, return_drives: bool = False):
    """Output spike counts ``[B, n_out]`` of the NIR network for constant inputs ``x [B, n_in]`` over ``steps`` steps
    of ``dt`` (forward Euler from rest, as snntorch runs an imported graph; a spike when ``v > v_threshold``, reset
    to ``v_reset``; IF: ``v += r x`` per step). With ``return_drives`` also each layer's drive (``W s + b``)
    averaged over the steps, ``[B, n]`` per layer."""
    import torch

    h = torch.as_tensor(np.asarray(x), dtype=torch.float64)
    B = h.shape[0]
    drives = [torch.zeros(B, L.weight.shape[0], dtype=torch.float64) for L in net.layers]
    st = []
    for L in net.layers:
        z = torch.zeros(B, L.weight.shape[0], dtype=torch.float64)
        st.append([z.clone(), z.clone()])
    T = {k: {n: torch.as_tensor(v, dtype=torch.float64) for n, v in L.params.items()} for k, L in enumerate(net.layers)}
    Ws = [(torch.as_tensor(L.weight, dtype=torch.float64), torch.as_tensor(L.bias, dtype=torch.float64))
          for L in net.layers]
    counts = torch.zeros(B, net.layers[-1].weight.shape[0], dtype=torch.float64)
    for _ in range(int(steps)):
        s = h
        for k, L in enumerate(net.layers):
            W, b = Ws[k]
            i = s @ W.T + b
            drives[k] += i
            q = T[k]
            v, syn = st[k]
            if L.kind == "LIF":
                a = dt / q["tau"]
                v = v + a * (q["v_leak"] - v + q["r"] * i)
            elif L.kind == "CubaLIF":
                syn = syn + dt / q["tau_syn"] * (q["w_in"] * i - syn)
                v = v + dt / q["tau_mem"] * (q["v_leak"] - v + q["r"] * syn)
            else:
                v = v + q["r"] * i
            z = v > q["v_threshold"]
            v = torch.where(z, q["v_reset"], v)
            st[k] = [v, syn]
            s = z.to(torch.float64)
        counts += s
    if return_drives:
        return counts.numpy(), [(d / int(steps)).numpy() for d in drives]
    return counts.numpy()


def _source_counts(L: NIRLayer, x: np.ndarray, steps: int, dt: float) -> np.ndarray:
    """Spikes of one population of ``L`` under constant drives ``x`` (a [n] vector per neuron, or [m, n])."""
    one = NIRNetwork([NIRLayer(L.name, np.eye(x.shape[-1], dtype=np.float32), np.zeros(x.shape[-1], np.float32),
                               L.kind, L.params)], None, "")
    return simulate(one, np.atleast_2d(x), steps, dt=dt)


# ---------------------------------------------------------------------------------------------- mapping onto VO2
@dataclass(frozen=True)
class PopulationMap:
    """VO2 drive ``y = scale x + offset`` [rheobase units] of a source population whose drive is ``x``, VO2 time
    dilation ``dilation`` (VO2 steps per source step), count errors [spikes per window] on the fit drives."""

    layer: str
    scale: float
    offset: float
    dilation: int
    rms_count_error: float
    max_count_error: float
    mean_source_count: float
    x_lo: float
    x_hi: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


#: Time dilations (VO2 steps per source step) :func:`map_population` chooses from.
_DILATIONS = (1, 2, 3, 4)


def map_population(L: NIRLayer, drives: np.ndarray, p, steps: int, dt: float, *, dilations=_DILATIONS,
                   n_points: int = 40) -> PopulationMap:
    """Fit the VO2 drive ``y = s x + c`` (and the dilation) of population ``L`` whose neurons see ``drives``
    ``[B, n]`` (mean drive per step on the evaluated images); see the module docstring."""
    from scipy.optimize import least_squares

    xs = np.quantile(drives.ravel(), np.linspace(0.02, 0.98, n_points))
    # the source neuron's count at each fit drive: neurons are alike in the fitted networks; use the population's
    # median parameters (one map per layer)
    med = {k: np.full(1, float(np.median(v))) for k, v in L.params.items()}
    one = NIRLayer(L.name, L.weight[:1], L.bias[:1], L.kind, med)
    target = _source_counts(one, xs[:, None], steps, dt)[:, 0]
    y_max = p.i_max / p.rheobase
    best = None
    span = max(float(xs.max() - xs.min()), 1e-12)
    for k in dilations:
        def counts(s, c):
            y = np.clip(s * xs + c, -10.0, 10.0 * y_max)
            return vo2_counts(y, p, k * steps)

        # coarse grid: map the drive range [x_lo, x_hi] onto VO2 drives [y0, y1] inside the window
        y0s = np.linspace(-1.0, 1.5, 11)
        y1s = np.linspace(1.2, y_max * 0.999, 14)
        Y0, Y1 = np.meshgrid(y0s, y1s, indexing="ij")
        S = (Y1 - Y0) / span
        C = Y0 - S * xs.min()
        c_all = vo2_counts(np.clip(S[..., None] * xs + C[..., None], -10, 10 * y_max), p, k * steps)
        err = np.sqrt(np.mean((c_all - target) ** 2, axis=-1))
        j = np.unravel_index(np.argmin(err), err.shape)
        s0, c0 = float(S[j]), float(C[j])
        # polish (counts are steps in y: least squares on a smoothed residual, keep the better of both)
        sol = least_squares(lambda th: counts(th[0], th[1]) - target, [s0, c0], diff_step=0.05)
        cand = [(float(err[j]), s0, c0)]
        e1 = float(np.sqrt(np.mean((counts(*sol.x) - target) ** 2)))
        cand.append((e1, float(sol.x[0]), float(sol.x[1])))
        e, s, c = min(cand)
        if best is None or e < best[0] - 0.25:
            best = (e, s, c, k)
    e, s, c, k = best
    got = vo2_counts(np.clip(s * xs + c, -10, 10 * y_max), p, k * steps)
    return PopulationMap(layer=L.name, scale=s, offset=c, dilation=k, rms_count_error=e,
                         max_count_error=float(np.max(np.abs(got - target))), mean_source_count=float(target.mean()),
                         x_lo=float(xs.min()), x_hi=float(xs.max()))


@dataclass(frozen=True)
class NIRHWResult:
    """``vo2neuro hw-eval --nir``: a NIR network run on VO2-x circuit neurons (per inference = per image).

    accuracy : circuit level [0-1]; ``source_accuracy``: the source network's own (a foreign graph: simulated as
        NIR describes it, forward Euler with step ``dt``; a vo2neuro graph: its VO2 network in software);
        ``vo2_software_accuracy``: the mapped VO2 network in software (:class:`VO2MLP`); ``nir_lif_accuracy``: the
        graph simulated as NIR LIF neurons (for a vo2neuro graph: how well its LIF stand-ins do); same images
    agreement : share of images where circuit and source predict the same class [-]
    exact : True for a graph vo2neuro wrote, run on its own device (its neuron, weights and circuit, no refit)
    energy_per_inference_j, energy_breakdown_j [J]; latency_s, window_s [s]; spikes_per_inference [-]
    mapping : per layer the fitted VO2 drive map and its count error (foreign graphs), or the LIF fit (exact ones)
    """

    accuracy: float
    source_accuracy: float
    vo2_software_accuracy: float
    nir_lif_accuracy: float
    agreement: float
    exact: bool
    n_images: int
    dataset: str
    steps: int
    dilation: int
    population: int
    energy_per_inference_j: float
    energy_breakdown_j: dict[str, float]
    spikes_per_inference: float
    synaptic_events_per_inference: float
    latency_s: float
    window_s: float
    images_per_s: float
    preset: str
    device_source: str
    supply_v: float
    dt_circuit_s: float
    network_dt_s: float
    d2d_sigma: float
    c2c_sigma: float
    seed: int
    nir_file: str
    mapping: list[dict[str, Any]]
    fit_agreement: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _vo2_counts_net(lin, p, x, steps: int, population: int, n_classes: int) -> np.ndarray:
    """Software predictions of the VO2 network with layers ``lin`` (rheobase units) on constant inputs ``x``."""
    return _vo2_class_counts(lin, p, x, steps, population, n_classes).argmax(1)


def _vo2_class_counts(lin, p, x, steps: int, population: int, n_classes: int) -> np.ndarray:
    """Output spike counts per class ``[B, classes]`` of the VO2 network of :func:`_vo2_counts_net`."""
    import torch

    from vo2neuro.snn.network import VO2MLP

    sizes = [lin[0][0].shape[1], *[W.shape[0] for W, _ in lin]]
    with torch.random.fork_rng(devices=[]):
        net = VO2MLP(sizes[0], sizes[1:-1], sizes[-1], p)
    with torch.no_grad():
        for k, (W, b) in enumerate(lin):
            net.linears[k].weight.copy_(torch.as_tensor(W))
            net.linears[k].bias.copy_(torch.as_tensor(b))
        xt = torch.as_tensor(np.asarray(x), dtype=torch.float32)
        out = torch.cat([net(xt[i:i + 1024], steps=steps).sum(0) for i in range(0, len(xt), 1024)])
    return out.view(len(xt), n_classes, population).sum(-1).numpy()


def _mapped(lin_src, maps, k: int):
    """VO2 layers (rheobase units) of the source layers under the population maps, dilation ``k``."""
    return [(np.float32(m.scale * (k if j else 1)) * W, np.float32(m.scale) * b + np.float32(m.offset))
            for j, ((W, b), m) in enumerate(zip(lin_src, maps))]


#: Scale factors and offset shifts [rheobase units] of the two passes of :func:`refine_maps` in :func:`nir_hw_eval`.
_REFINE_GRIDS = ({"factors": (0.7, 0.85, 1.0, 1.15, 1.3), "shifts": (-0.3, -0.15, 0.0, 0.15, 0.3)},
                 {"factors": (0.9, 0.95, 1.0, 1.05, 1.1), "shifts": (-0.1, -0.05, 0.0, 0.05, 0.1)})


def refine_maps(lin_src, maps, p, x, target, *, steps: int, population: int, n_classes: int,
                factors=(0.7, 0.85, 1.0, 1.15, 1.3), shifts=(-0.3, -0.15, 0.0, 0.15, 0.3), spread: float = 0.05,
                n_draws: int = 1):
    """Adjust each layer's map (scale x factor, offset + shift; one coordinate pass, layer by layer) to maximise
    the agreement of the mapped VO2 network's software predictions with ``target`` (the source network's) on the
    fit images ``x``, then the margin of the source's class; both averaged over the nominal network and ``n_draws``
    copies whose neurons' drives are off by a relative ``spread`` (Gaussian, fixed draw: the device-to-device spread
    of the circuit's onset), so that the operating point keeps its distance from the firing onset. Returns the maps
    and the agreement reached [-]."""
    import dataclasses

    k = maps[0].dilation
    rows = np.arange(len(target))

    rng = np.random.default_rng(0)
    # device-to-device spread as the circuit sees it: each neuron's rheobase off by a few per cent (a fixed draw)
    spreads = [None] + [[1.0 + spread * rng.standard_normal((W.shape[0], 1)).astype(np.float32) for W, _ in lin_src]
                        for _ in range(n_draws)]

    def score(ms) -> tuple[float, float]:
        # agreement, then the mean log-probability of the source's class under a softmax of the counts (one logit
        # per source-step's worth of spikes): the margin, which keeps improving once the agreement saturates;
        # averaged over the nominal network and ``n_draws`` spread ones
        agree, margin = 0.0, 0.0
        for sp in spreads:
            lin = _mapped(lin_src, ms, k)
            if sp is not None:
                lin = [(W * g, b * g[:, 0]) for (W, b), g in zip(lin, sp)]
            c = _vo2_class_counts(lin, p, x, k * steps, population, n_classes) / k
            c = c - c.max(1, keepdims=True)
            logp = c[rows, target] - np.log(np.exp(c).sum(1))
            agree += float(np.mean(c.argmax(1) == target)) / len(spreads)
            margin += float(np.mean(logp)) / len(spreads)
        return agree, margin

    maps = list(maps)
    best = score(maps)
    for j in range(len(maps)):
        base = maps[j]
        for f in factors:
            for d in shifts:
                if f == 1.0 and d == 0.0:
                    continue
                moved = dataclasses.replace(base, scale=base.scale * f, offset=base.offset + d)
                trial = maps[:j] + [moved] + maps[j + 1:]
                a = score(trial)
                if a > best:
                    best, maps = a, trial
    return maps, best[0]


def nir_hw_eval(path, *, dataset: str, n_images: int = 200, steps: int | None = None, dt: float | None = None,
                n_classes: int = 10, device=None, d2d_sigma: float = 0.05, c2c_sigma: float = 0.0, seed: int = 0,
                dt_circuit: float | None = None, data_dir=None, progress: bool = False, refine: bool = True,
                n_fit: int = 600) -> NIRHWResult:
    """Run the NIR network in the file ``path`` on VO2-x circuit neurons (see the module docstring).

    ``steps`` (window of the source network, default: the graph's record, else 25), ``dt`` (the graph's step [s],
    default: the graph's record, else :data:`NIR_DT`), ``device`` (a DeviceSelection; default: the graph's device for a
    vo2neuro graph, else the vo2x preset), ``refine`` and ``n_fit`` (the last passes of the mapping of a foreign
    graph and the training images it is fitted on). The rest as :func:`vo2neuro.snn.hardware.hw_eval`.
    """
    with _one_thread():
        return _nir_hw_eval(path, dataset=dataset, n_images=n_images, steps=steps, dt=dt, n_classes=n_classes,
                            device=device, d2d_sigma=d2d_sigma, c2c_sigma=c2c_sigma, seed=seed,
                            dt_circuit=dt_circuit, data_dir=data_dir, progress=progress, refine=refine, n_fit=n_fit)


def _nir_hw_eval(path, *, dataset, n_images, steps, dt, n_classes, device, d2d_sigma, c2c_sigma, seed, dt_circuit,
                 data_dir, progress, refine, n_fit) -> NIRHWResult:
    from vo2neuro.snn.data import load_dataset
    from vo2neuro.snn.hardware import check_circuit_dt, check_work, max_circuit_dt, run_circuit
    from vo2neuro.snn.params import VO2NeuronParams
    from vo2neuro.snn.presets import circuit_neuron_for_device

    if isinstance(n_images, bool) or int(n_images) != n_images or n_images < 1:
        raise ParameterError(f"n_images must be a whole number >= 1 [1], got {n_images!r}")
    net = read_network(path)
    rec = net.record
    train_ds, test_ds = load_dataset(dataset, data_dir)
    x_all, y_all = test_ds.tensors
    if x_all.shape[1] != net.sizes[0]:
        raise ParameterError(f"nir: {path}: the graph's first layer takes {net.sizes[0]} inputs but the {dataset} "
                             f"images have {x_all.shape[1]} [-]")
    if net.sizes[-1] % n_classes:
        raise ParameterError(f"nir: {path}: the output layer has {net.sizes[-1]} neurons, not a multiple of the "
                             f"{n_classes} classes of {dataset} [-]")
    population = net.sizes[-1] // n_classes
    n = min(int(n_images), len(y_all))
    x, y = x_all[:n].numpy(), y_all[:n].numpy()
    lin_src = [(L.weight, L.bias) for L in net.layers]
    own = rec is not None and rec.get("format") == META_FORMAT  # written by vo2neuro
    circuit = None
    if own:
        p = VO2NeuronParams.from_record(rec["neuron"])
        steps = int(rec["steps"]) if steps is None else int(steps)
        dt = float(rec["dt_nir_s"]) if dt is None else float(dt)
        if device is None and rec.get("device") is not None:
            from vo2neuro.snn import checkpoint as _ckpt

            device, circuit = _ckpt.device_from_record(rec["device"], f"nir: {path}"), rec.get("circuit")
    else:
        steps = 25 if steps is None else int(steps)
        dt = NIR_DT if dt is None else float(dt)
    if device is None:
        from vo2neuro.device.select import select

        device = select("vo2x")
    r_load = cap = None
    if circuit is not None:
        r_load, cap = float(circuit["r_load_ohm"]), float(circuit["node_capacitance"]["total_f"])
    cn = circuit_neuron_for_device(device.params, device.ambient_k, r_load, cap)
    if dt_circuit is None:
        dt_circuit = 20e-9 if cap is None else max_circuit_dt(device.params, cap)[0]
    check_circuit_dt(dt_circuit, device.params, cap)
    # refused before any work, at the longest window the mapping may choose (time dilation up to 4)
    check_work(n, sum(net.sizes[1:]), (1 if own else max(_DILATIONS)) * steps * cn.params.dt, dt_circuit)
    counts_src = simulate(net, x, steps, dt=dt)
    src_pred = counts_src.reshape(n, n_classes, population).sum(-1).argmax(1)
    fit_agreement = math.nan
    exact = own and cn.params.matches(p, rel=1e-3)
    if own:
        # a vo2neuro graph: its weights in rheobase units; on its own device exactly its neuron, on another one the
        # neuron re-derived there (as hw-eval --preset does for a checkpoint)
        lin, k_dil, pv = lin_src, 1, (p if exact else cn.params)
        mapping = [{"layer": L.name, "exact": exact, "lif_fit": json.loads(net_meta)}
                   for L, net_meta in zip(net.layers, _lif_fits(net))]
    else:
        pv = cn.params
        # the operating point is fitted on training images (drives the network sees there), never on test images
        x_fit = train_ds.tensors[0][:n_fit].numpy()
        if progress:
            print(f"hw-eval: fitting the VO2 operating point of {len(net.layers)} populations on {len(x_fit)} "
                  "training images", file=sys.stderr)
        fit_counts, drives = simulate(net, x_fit, steps, dt=dt, return_drives=True)
        k_dil = max(map_population(L, d, pv, steps, dt).dilation for L, d in zip(net.layers, drives))
        maps = [map_population(L, d, pv, steps, dt, dilations=(k_dil,)) for L, d in zip(net.layers, drives)]
        if refine:
            fit_pred = fit_counts.reshape(len(x_fit), n_classes, population).sum(-1).argmax(1)
            for grid in _REFINE_GRIDS:  # coarse, then fine
                maps, fit_agreement = refine_maps(lin_src, maps, pv, x_fit, fit_pred, steps=steps,
                                                  population=population, n_classes=n_classes, **grid)
        lin = _mapped(lin_src, maps, k_dil)
        mapping = [m.to_dict() for m in maps]
    vo2_steps = k_dil * steps
    sw_pred = _vo2_counts_net(lin, pv, x, vo2_steps, population, n_classes)
    run = run_circuit(lin, x, cn, device.params, steps=vo2_steps, population=population, n_classes=n_classes,
                       neuron=pv, d2d_sigma=d2d_sigma, c2c_sigma=c2c_sigma, seed=seed, dt_circuit=dt_circuit,
                       progress=progress)
    name = device.source.split(":", 1)[1] if device.source.startswith("preset:") else device.params.name
    ref = sw_pred if own else src_pred  # the source network's own predictions
    return NIRHWResult(accuracy=float(np.mean(run.pred == y)), source_accuracy=float(np.mean(ref == y)),
                       vo2_software_accuracy=float(np.mean(sw_pred == y)),
                       nir_lif_accuracy=float(np.mean(src_pred == y)),
                       agreement=float(np.mean(run.pred == ref)), exact=exact,
                       n_images=n, dataset=dataset, steps=steps, dilation=k_dil, population=population,
                       energy_per_inference_j=run.energy_j, energy_breakdown_j=run.energy_breakdown_j,
                       spikes_per_inference=run.spikes, synaptic_events_per_inference=run.synaptic_events,
                       latency_s=run.latency_s, window_s=run.window_s,
                       images_per_s=n / run.wall_s if run.wall_s > 0 else math.inf, preset=name,
                       device_source=device.source, supply_v=cn.supply_v, dt_circuit_s=float(dt_circuit),
                       network_dt_s=pv.dt, d2d_sigma=d2d_sigma, c2c_sigma=c2c_sigma, seed=seed, nir_file=str(path),
                       mapping=mapping, fit_agreement=fit_agreement)
