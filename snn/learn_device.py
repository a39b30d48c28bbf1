r"""Device co-design by gradient: the vacancy level delta learned together with the weights.

The grid co-design (:mod:`vo2neuro.explore.codesign`) trains one network per vacancy level. Here delta is a
parameter of the network. The neuron of every layer is the circuit-derived neuron at the current delta, read from
the fitted map :class:`vo2neuro.snn.device_map.NeuronMap` (circuit simulations on a delta grid, PCHIP in
between), in its normalised form::

    u_{t+1} = a(delta) u_t + (1 - a(delta)) x_t,   a = exp(-dt(delta)/tau(delta)),
    spike when u >= 1 (surrogate gradient), reset to u_h(delta), n_ref(delta) refractory steps,
    no spikes while x >= m(delta) (the latch at the top of the oscillation window),

with ``x`` the synaptic drive in rheobase units (the unit the weights are trained in,
:mod:`vo2neuro.snn.network`). ``a``, ``u_h`` and ``m`` carry the gradient with respect to delta; ``n_ref`` is a
whole number of steps and carries none. The time step ``dt(delta)`` is the network step the circuit neuron would
get at that delta (a third of the fastest period), so ``T`` steps last ``T dt(delta)``: the latency follows delta.

The objective is the cross-entropy of the class spike counts plus, optionally, ``energy_weight`` times the
estimated energy per inference relative to its value at the start, ``E = N_spikes E_spike(delta)`` (the circuit's
supply energy per spike at mid-window, from the map), which differentiates through both the spike counts and
``E_spike(delta)``. delta is kept inside the map's range ``[0, delta_hi]`` by ``delta = delta_hi sigmoid(theta)``.

Phase 2 (``finetune_epochs``): the learned delta is frozen, the neuron re-derived exactly from that film's circuit
(:func:`vo2neuro.snn.presets.circuit_neuron_for_device`), and the weights fine-tuned by the ordinary trainer,
which writes the usual checkpoint: ``vo2neuro hw-eval`` then runs the result at circuit level.
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vo2neuro._io import atomic_write
from vo2neuro.units import ParameterError

__all__ = ["LearnConfig", "LearnResult", "learn_device", "map_neuron_sequence", "LEARNABLE", "pareto_position"]

#: Device parameters that can be learned (``vo2neuro train --learn``).
LEARNABLE = ("delta",)

LEARN_NAME = "learn_device.json"
#: The neuron map of a run (``LearnConfig.map_file`` of a later run of the same film).
MAP_NAME = "neuron_map.json"
#: Checkpoint of the joint phase (written atomically after every joint epoch; ``resume=True`` continues from it).
JOINT_CHECKPOINT = "learn_checkpoint.pt"


def map_neuron_sequence(x: torch.Tensor, q: dict[str, torch.Tensor], *, surrogate: str = "fast_sigmoid",
                        slope: float = 2.0) -> torch.Tensor:
    """The normalised VO2 neuron over ``x [T, *S]`` (rheobase units) with map quantities ``q``; spikes ``[T, *S]``.

    Same step as :func:`vo2neuro.snn.neuron.vo2_step` written in the normalised membrane ``u`` (module
    docstring), so that ``a``, ``u_h`` and ``m`` may be tensors that require gradients.
    """
    from vo2neuro.snn.neuron import _Heaviside

    a = torch.exp(-q["dt"] / q["tau"])
    u_h, m = q["u_h"], q["m"]
    n_ref = float(round(float(q["t_ref"].detach() / q["dt"].detach())))
    u = torch.zeros_like(x[0])
    ref = torch.zeros_like(x[0])
    out = []
    for t in range(x.shape[0]):
        xt = x[t]
        active = ref <= 0
        c = torch.where(active, a * u + (1.0 - a) * xt, u)
        s = _Heaviside.apply(c - 1.0, 1.0, surrogate, slope)
        over = xt >= m
        g = _Heaviside.apply(m - xt, 1.0, surrogate, slope)
        latched = (over & ~active).to(c.dtype)
        out.append(s + latched * (g - g.detach()))
        fired = s.detach()
        u = fired * u_h + (1.0 - fired) * c
        ref = torch.where(fired > 0, torch.full_like(ref, n_ref), (ref - 1.0).clamp_min(0.0))
        ref = torch.where(over & ((fired > 0) | ~active), ref.clamp_min(1.0), ref)
    return torch.stack(out)


class _MapSequence(torch.autograd.Function):
    """:func:`map_neuron_sequence` with a hand-written BPTT backward (same values and gradients, several times
    faster: no autograd graph per step).

    Backward per step, ``dv`` the gradient carried into the post-reset membrane ``u_t``::

        du_h += sum(dv_t z_t)                                   (u_t = z_t u_h + (1 - z_t) c_t)
        dc_t  = gz_t sigma'(c_t - 1) + dv_t (1 - z_t)
        da   += sum(dc_t active_t (u_{t-1} - x_t))               (c_t = a u_{t-1} + (1 - a) x_t when integrating)
        dv_{t-1} = dc_t (active_t a + 1 - active_t)
        dx_t  = dc_t active_t (1 - a) - gz_t latched_t sigma'(m - x_t),   dm += sum(gz_t latched_t sigma'(m - x_t))
    """

    @staticmethod
    def forward(ctx, x, a_t, u_h_t, m_t, n_ref: float, surrogate: str, k: float):  # type: ignore[override]
        a, u_h, m = float(a_t), float(u_h_t), float(m_t)
        drive = (1.0 - a) * x
        over = x >= m
        any_over = bool(over.any())
        T = x.shape[0]
        c_all = torch.empty_like(x)
        prev_all = torch.empty_like(x)
        active_all = torch.empty_like(x, dtype=torch.bool)
        v = torch.zeros_like(x[0])
        ref = torch.zeros_like(x[0])
        for t in range(T):
            prev_all[t] = v
            active = torch.le(ref, 0.0, out=active_all[t])
            c = torch.add(drive[t], v, alpha=a, out=c_all[t])
            torch.where(active, c, v, out=c)
            z = c >= 1.0
            v = c.masked_fill(z, u_h)
            ref.sub_(1.0).clamp_min_(0.0).masked_fill_(z, n_ref)
            if any_over:
                ref.masked_fill_(over[t] & (z | ~active) & (ref < 1.0), 1.0)
        z_all = (c_all >= 1.0).to(x.dtype)
        ctx.save_for_backward(x, c_all, prev_all, active_all, z_all)
        ctx.a, ctx.m, ctx.surrogate, ctx.k = a, m, surrogate, k
        return z_all

    @staticmethod
    def backward(ctx, gz):  # type: ignore[override]
        from vo2neuro.snn.neuron import SURROGATES

        x, c_all, prev_all, active_all, z_all = ctx.saved_tensors
        d = SURROGATES[ctx.surrogate].derivative
        a, m, k = ctx.a, ctx.m, ctx.k
        gzc = gz * d(c_all - 1.0, k)
        keep = 1.0 - z_all
        one = torch.ones((), dtype=x.dtype)
        carry = torch.where(active_all, one * a, one)
        dc = torch.empty_like(c_all)
        dv = torch.zeros_like(c_all[0])
        du_h = torch.zeros((), dtype=x.dtype)
        for t in range(c_all.shape[0] - 1, -1, -1):
            du_h = du_h + (dv * z_all[t]).sum()
            torch.addcmul(gzc[t], dv, keep[t], out=dc[t])
            dv = dc[t] * carry[t]
        dc.masked_fill_(~active_all, 0.0)
        da = (dc * (prev_all - x)).sum()
        dx = dc * (1.0 - a)
        dm = torch.zeros((), dtype=x.dtype)
        latched = (x >= m) & ~active_all
        if bool(latched.any()):
            gl = gz * latched * d(m - x, k)
            dx = dx - gl
            dm = gl.sum()
        return dx, da, du_h, dm, None, None, None


class _MapSequenceCompiled(torch.autograd.Function):
    """:class:`_MapSequence` in the compiled kernel (:mod:`vo2neuro.snn._fused`): its forward with the normalised
    constants (``v_bias = 0``, ``R_leak = 1``, ``v_th = 1``, ``v_h = u_h``, ``i_max = m``), and the backward op
    that also returns the gradients with respect to ``a``, ``v_h`` and ``i_max`` (fast-sigmoid surrogate only)."""

    @staticmethod
    def forward(ctx, x, a_t, u_h_t, m_t, n_ref: float, surrogate: str, k: float):  # type: ignore[override]
        from vo2neuro.snn import _fused

        a, u_h, m = float(a_t), float(u_h_t), float(m_t)
        x2 = x.reshape(x.shape[0], -1).contiguous()
        zeros = torch.zeros(x2.shape[1], dtype=x.dtype)
        z, _, _, c = _fused.ops().forward(x2, zeros, zeros, 1.0, a, 1.0 - a, 0.0, 1.0, 1.0, u_h, n_ref, m)
        ctx.save_for_backward(x2, c)
        ctx.consts, ctx.k, ctx.shape = (a, u_h, n_ref, m), k, x.shape
        return z.view(x.shape)

    @staticmethod
    def backward(ctx, gz):  # type: ignore[override]
        from vo2neuro.snn import _fused

        x2, c = ctx.saved_tensors
        a, u_h, n_ref, m = ctx.consts
        zeros = torch.zeros(x2.shape[1], dtype=x2.dtype)
        dx, _, da, dvh, dm = _fused.ops().backward_params(
            gz.reshape(c.shape), x2, c, zeros, zeros, 1.0, a, 1.0, u_h, n_ref, 1.0, 1.0 - a, m, 1.0, ctx.k, 0.0, 1.0)
        return dx.view(ctx.shape), da.sum(), dvh.sum(), dm.sum(), None, None, None


def fast_map_neuron_sequence(x: torch.Tensor, q: dict[str, torch.Tensor], *, surrogate: str = "fast_sigmoid",
                             slope: float = 2.0, compiled: bool | None = None) -> torch.Tensor:
    """:func:`map_neuron_sequence` through :class:`_MapSequenceCompiled` where the compiled kernel applies (CPU,
    float32/64, fast sigmoid), else :class:`_MapSequence` (the training path; equal values and gradients).
    ``compiled=True/False`` forces a path (tests)."""
    from vo2neuro.snn.neuron import _compiled_ops_for

    a = torch.exp(-q["dt"] / q["tau"])
    n_ref = float(round(float(q["t_ref"].detach() / q["dt"].detach())))
    dtype = x.dtype
    args = (x, a.to(dtype), q["u_h"].to(dtype), q["m"].to(dtype), n_ref, surrogate, slope)
    if compiled is None:
        compiled = surrogate == "fast_sigmoid" and _compiled_ops_for(x, x[0], surrogate) is not None
    return (_MapSequenceCompiled if compiled else _MapSequence).apply(*args)


class _MapMLP(nn.Module):
    """Linear layers named as :class:`vo2neuro.snn.network.VO2MLP`'s, so its weights load into one."""

    def __init__(self, sizes: Sequence[int], init_gain_input: float, init_gain_spiking: float) -> None:
        super().__init__()
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        with torch.no_grad():
            for k, lin in enumerate(self.linears):
                w0 = (init_gain_input if k == 0 else init_gain_spiking) * math.sqrt(3.0 / lin.in_features)
                lin.weight.uniform_(-w0, w0)
                lin.bias.zero_()

    def forward(self, x: torch.Tensor, q, steps: int, surrogate: str, slope: float):
        h = None
        total = 0.0
        for k, lin in enumerate(self.linears):
            if k == 0:  # current coding: the image's drive is the same every step
                first = lin(x)
                cur = first.unsqueeze(0).expand(steps, *first.shape)
            else:
                cur = lin(h)
            h = fast_map_neuron_sequence(cur, q, surrogate=surrogate, slope=slope)
            total = total + h.sum(dim=(0, *range(2, h.dim())))
        return h, total


@dataclass(frozen=True, kw_only=True)
class LearnConfig:
    """Settings of a gradient co-design run (the network settings mirror :class:`~vo2neuro.snn.train.TrainConfig`).

    Parameters
    ----------
    learn : tuple of str
        Device parameters to learn (:data:`LEARNABLE`).
    preset : str
        Pristine film whose vacancy level is learned (delta 0 at the origin of the map).
    delta_init : float or None
        Starting vacancy level [-] (default: the middle of the map's range).
    energy_weight : float
        Weight of the relative energy per inference in the loss [-] (0: accuracy only).
    lr_delta : float
        Adam learning rate of ``theta`` (``delta = delta_hi sigmoid(theta)``) [-].
    epochs, finetune_epochs : int
        Joint epochs, then epochs of weight fine-tuning at the frozen learned delta with the exact neuron.
    map_points : int
        Grid points of the neuron map (:func:`vo2neuro.snn.device_map.fit_neuron_map`).
    map_file : str or None
        Reuse the neuron map a previous run saved (``neuron_map.json`` in its ``out_dir``; same preset) instead
        of fitting it again: the map is a property of the film and its circuit, not of the run.
    threads : int or None
        torch intra-op CPU threads during the run (None: leave torch's setting); 1 is fastest for these small
        tensors on a shared 2-core machine (as :class:`~vo2neuro.snn.train.TrainConfig`).
    """

    learn: tuple[str, ...] = ("delta",)
    preset: str = "vo2"
    delta_init: float | None = None
    energy_weight: float = 0.0
    lr_delta: float = 0.05
    dataset: str = "digits"
    hidden: tuple[int, ...] = (128,)
    steps: int = 25
    batch_size: int = 64
    epochs: int = 4
    finetune_epochs: int = 2
    lr: float = 1e-2
    population: int = 4
    count_scale: float = 0.5
    surrogate: str = "fast_sigmoid"
    slope: float = 2.0
    init_gain_input: float = 2.0
    init_gain_spiking: float = 12.0
    map_points: int = 9
    map_file: str | None = None
    threads: int | None = 1
    seed: int = 0
    out_dir: str = "output/learn"
    data_dir: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        bad = [n for n in self.learn if n not in LEARNABLE]
        if bad or not self.learn:
            raise ParameterError(f"learn: unknown device parameter {', '.join(bad) or '(none)'}; valid: "
                                 f"{', '.join(LEARNABLE)} [-]")
        if not (math.isfinite(self.energy_weight) and self.energy_weight >= 0):
            raise ParameterError(f"energy_weight must be a finite number >= 0 [1], got {self.energy_weight!r}")
        if not (math.isfinite(self.lr_delta) and self.lr_delta > 0):
            raise ParameterError(f"lr_delta must be a finite number > 0 [1], got {self.lr_delta!r}")
        for name in ("epochs", "steps", "batch_size", "population"):
            v = getattr(self, name)
            if isinstance(v, bool) or int(v) != v or v < 1:
                raise ParameterError(f"{name} must be a whole number >= 1 [1], got {v!r}")
        if isinstance(self.finetune_epochs, bool) or int(self.finetune_epochs) != self.finetune_epochs \
                or self.finetune_epochs < 0:
            raise ParameterError(f"finetune_epochs must be a whole number >= 0 [1], got {self.finetune_epochs!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class LearnResult:
    """Outcome of :func:`learn_device`.

    Attributes
    ----------
    delta : float
        Learned vacancy level [-].
    delta_range : tuple of float
        The map's allowed range [-].
    trajectory : list of dict
        Per joint epoch: ``epoch``, ``delta`` [-], ``train_loss``, ``train_accuracy``, ``test_accuracy`` (map
        neuron), ``spikes_per_inference`` [-], ``energy_per_inference_j`` [J] (estimate, module docstring),
        ``epoch_s`` [s].
    test_accuracy : float
        Test accuracy after fine-tuning with the exact neuron at ``delta`` (the joint one if no fine-tuning) [-].
    train_s : float
        Wall time of the joint epochs, the map fit and the fine-tuning [s].
    checkpoint : str or None
        Checkpoint of the fine-tuned network (a regular ``vo2neuro train`` checkpoint at ``delta``).
    map : dict
        The neuron map (grid and circuit values).
    """

    delta: float
    delta_range: tuple[float, float]
    trajectory: list[dict[str, float]]
    test_accuracy: float
    train_s: float
    map_s: float
    checkpoint: str | None
    config: dict[str, Any] = field(default_factory=dict)
    map: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _read_map(path: str, preset: str):
    from vo2neuro._io import read_input_text
    from vo2neuro.snn.device_map import NeuronMap

    p, text = read_input_text(path, "map_file", "JSON")
    try:
        d = json.loads(text)
    except ValueError as exc:
        raise ParameterError(f"map_file: {p} is not JSON ({exc}) [-]") from None
    nmap = NeuronMap.from_dict(d, where=f"map_file: {p}")
    if nmap.preset != preset:
        raise ParameterError(f"map_file: {p} is the map of {nmap.preset!r}, not of preset {preset!r} [-]")
    return nmap


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def learn_device(config: LearnConfig | None = None, *, resume: bool = False, **overrides: Any) -> LearnResult:
    """Train the weights and the vacancy level together, then fine-tune at the learned level (module docstring).

    With ``resume`` the joint phase continues from ``out_dir/learn_checkpoint.pt`` (weights, delta, optimiser,
    schedule and random streams), so that an interrupted run ends where an uninterrupted one does; the
    fine-tuning resumes from its own checkpoint.

    Returns
    -------
    LearnResult

    Raises
    ------
    ParameterError
        Bad settings, an unknown or non-pristine preset, a starting delta outside the map's range.
    """
    cfg = config if config is not None else LearnConfig()
    if overrides:
        cfg = dataclasses.replace(cfg, **overrides)
    threads = torch.get_num_threads()
    try:
        if cfg.threads is not None:
            torch.set_num_threads(cfg.threads)
        return _learn(cfg, resume)
    finally:
        torch.set_num_threads(threads)


def _learn(cfg: LearnConfig, resume: bool) -> LearnResult:
    from tqdm import tqdm

    from vo2neuro.snn.data import load_dataset
    from vo2neuro.snn.device_map import fit_neuron_map

    train_ds, test_ds = load_dataset(cfg.dataset, cfg.data_dir)
    t_start = time.perf_counter()
    if cfg.map_file is not None:
        nmap = _read_map(cfg.map_file, cfg.preset)
    else:
        from vo2neuro.snn.train import _torch_threads_kept

        with _torch_threads_kept():  # the map's circuit simulations may start Numba's OpenMP pool
            nmap = fit_neuron_map(cfg.preset, n_points=cfg.map_points)
    map_s = time.perf_counter() - t_start
    atomic_write(Path(cfg.out_dir) / MAP_NAME, lambda f: f.write(json.dumps(nmap.to_dict(), indent=1).encode()))
    lo, hi = nmap.delta_range
    d0 = 0.5 * (lo + hi) if cfg.delta_init is None else float(cfg.delta_init)
    if not lo <= d0 <= hi:
        raise ParameterError(f"delta_init must be in [{lo:g}, {hi:g}] (where the {cfg.preset} circuit oscillates) "
                             f"[-], got {cfg.delta_init!r}")
    torch.manual_seed(cfg.seed)
    x_tr, y_tr = train_ds.tensors
    x_te, y_te = test_ds.tensors
    n_classes = int(y_tr.max()) + 1
    sizes = [x_tr.shape[1], *cfg.hidden, n_classes * cfg.population]
    model = _MapMLP(sizes, cfg.init_gain_input, cfg.init_gain_spiking)
    theta = nn.Parameter(torch.tensor(_logit(d0 / hi)))
    opt = torch.optim.Adam([{"params": model.parameters(), "lr": cfg.lr},
                            {"params": [theta], "lr": cfg.lr_delta}])
    n_batches = math.ceil(len(y_tr) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs * n_batches)
    gen = torch.Generator().manual_seed(cfg.seed)

    def logits_of(x, q):
        out, total = model(x, q, cfg.steps, cfg.surrogate, cfg.slope)
        counts = out.sum(0).view(x.shape[0], n_classes, cfg.population).sum(-1)
        return counts * cfg.count_scale, total

    e_ref = None
    trajectory: list[dict[str, float]] = []
    out = Path(cfg.out_dir)
    ck_path = out / JOINT_CHECKPOINT
    start = 0
    if resume and ck_path.exists():
        ck = torch.load(ck_path, map_location="cpu", weights_only=False)
        if ck.get("config") != cfg.to_dict():
            raise ParameterError(f"checkpoint {ck_path} was written with different settings; use the same "
                                 "settings or another --out")
        model.load_state_dict(ck["model"])
        with torch.no_grad():
            theta.copy_(ck["theta"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        gen.set_state(ck["shuffle"])
        torch.set_rng_state(ck["torch_rng"])
        e_ref, trajectory, start = ck["e_ref"], ck["trajectory"], ck["epoch"]
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(y_tr), generator=gen)
        loss_sum = correct = seen = 0
        spikes_sum = 0.0
        with tqdm(total=n_batches, file=sys.stderr, disable=not cfg.progress, leave=False,
                  desc=f"learn {epoch + 1}/{cfg.epochs}") as bar:
            for b in range(n_batches):
                idx = perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]
                x, y = x_tr[idx], y_tr[idx]
                delta = hi * torch.sigmoid(theta)
                q = nmap.torch_params(delta)
                logits, spikes = logits_of(x, q)
                loss = F.cross_entropy(logits, y)
                energy = spikes.mean() * q["energy_per_spike"]
                if cfg.energy_weight > 0:
                    if e_ref is None:
                        e_ref = float(energy.detach()) or 1.0
                    loss = loss + cfg.energy_weight * energy / e_ref
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                loss_sum += float(loss.detach()) * len(y)
                correct += int((logits.argmax(1) == y).sum())
                spikes_sum += float(spikes.detach().sum())
                seen += len(y)
                bar.set_postfix(delta=f"{float(delta.detach()):.5f}", loss=f"{loss_sum / seen:.3f}")
                bar.update()
        with torch.no_grad():
            delta = hi * torch.sigmoid(theta)
            q = nmap.torch_params(delta)
            acc = sum(int((logits_of(x_te[i:i + 1024], q)[0].argmax(1) == y_te[i:i + 1024]).sum())
                      for i in range(0, len(y_te), 1024)) / len(y_te)
        row = {"epoch": epoch + 1, "delta": float(delta), "train_loss": loss_sum / seen,
               "train_accuracy": correct / seen, "test_accuracy": acc, "spikes_per_inference": spikes_sum / seen,
               "energy_per_inference_j": spikes_sum / seen * float(q["energy_per_spike"]),
               "epoch_s": time.perf_counter() - t0}
        trajectory.append(row)
        state = {"config": cfg.to_dict(), "epoch": epoch + 1, "model": model.state_dict(), "theta": theta.detach(),
                 "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "shuffle": gen.get_state(),
                 "torch_rng": torch.get_rng_state(), "e_ref": e_ref, "trajectory": trajectory}
        atomic_write(ck_path, lambda f: torch.save(state, f))
        if cfg.progress:
            print(f"learn epoch {epoch + 1}/{cfg.epochs}: delta {row['delta']:.5f}, loss {row['train_loss']:.4f}, "
                  f"test {acc:.4f}", file=sys.stderr)
    learned = float(hi * torch.sigmoid(theta).detach())
    test_acc, ckpt = trajectory[-1]["test_accuracy"], None
    if cfg.finetune_epochs > 0:
        from vo2neuro.snn.train import TrainConfig, Trainer

        tcfg = TrainConfig(dataset=cfg.dataset, hidden=tuple(cfg.hidden), steps=cfg.steps,
                           batch_size=cfg.batch_size, epochs=cfg.finetune_epochs, lr=cfg.lr * 0.2,
                           population=cfg.population, count_scale=cfg.count_scale, surrogate=cfg.surrogate,
                           slope=cfg.slope, preset=cfg.preset, delta=round(learned, 6), seed=cfg.seed,
                           out_dir=str(out), data_dir=cfg.data_dir, progress=cfg.progress)
        trainer = Trainer(tcfg)
        trainer.model.load_state_dict(model.state_dict())  # same layer names; resume replaces them again
        res = trainer.fit(resume=resume)
        test_acc, ckpt = res.test_accuracy, res.checkpoint
    result = LearnResult(delta=learned, delta_range=(lo, hi), trajectory=trajectory, test_accuracy=test_acc,
                         train_s=time.perf_counter() - t_start, map_s=map_s, checkpoint=ckpt,
                         config=cfg.to_dict(), map=nmap.to_dict())
    atomic_write(out / LEARN_NAME, lambda f: f.write(json.dumps(result.to_dict(), indent=1).encode()))
    return result


def pareto_position(delta: float, grid_deltas: Sequence[float], pareto: Sequence[float]) -> dict[str, Any]:
    """Where a learned ``delta`` sits against a grid co-design: the nearest Pareto delta and the distance in grid
    steps (the grid's smallest spacing) [-]."""
    grid = sorted(float(d) for d in grid_deltas)
    if len(grid) < 2 or not pareto:
        raise ParameterError("pareto_position needs a grid of >= 2 deltas and a non-empty Pareto set [-]")
    step = min(b - a for a, b in zip(grid, grid[1:]))
    nearest = min(pareto, key=lambda p: abs(p - delta))
    return {"nearest_pareto_delta": float(nearest), "grid_step": step,
            "distance_in_steps": abs(nearest - delta) / step}
