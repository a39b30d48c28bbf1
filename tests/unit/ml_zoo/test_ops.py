"""Op counter against independent references: torch FlopCounterMode (FLOPs / 2), the analytic RNN formulas, a
hand-written ResNet-18 (1.82 GMAC, 11,689,512 params; thop table / torchvision docs) and brute-force connection
counts for the synaptic-operation fan-outs."""
from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from vo2neuro.ml_zoo.ops import count_ops, rnn_step_macs  # noqa: E402
from vo2neuro.ml_zoo.synaptic import fan_out_table, synops, uniform_spikes  # noqa: E402


def flop_counter_macs(model, *inputs) -> int:
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        model(*inputs)
    flops = fc.get_total_flops()
    assert flops % 2 == 0
    return flops // 2


class ConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 16, 5, stride=2, padding=2, groups=4, bias=False)
        self.c3 = nn.Conv2d(16, 16, 3, dilation=2, groups=16)
        self.up = nn.ConvTranspose2d(16, 6, 4, stride=2, padding=1)
        self.c1d = nn.Conv1d(6, 4, 3)

    def forward(self, x):
        y = self.up(self.c3(self.c2(self.c1(x))))
        return self.c1d(y.flatten(2))


class LinearNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(12, 20)
        self.b = nn.Linear(20, 7, bias=False)

    def forward(self, x):               # x (B, T, 12): linear over a sequence
        return self.b(torch.relu(self.a(x)))


class MatmulNet(nn.Module):
    """Explicit attention (matmul, bmm, einsum, baddbmm, SDPA) around a linear projection."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(16, 48)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        a = torch.matmul(q, k.transpose(-2, -1)).softmax(-1)
        y = torch.bmm(a, v)
        z = torch.einsum("bij,bjk->bik", y, y.transpose(1, 2))
        w = torch.baddbmm(z, z, z)
        s = F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None])
        return w.sum() + s.sum() + (q[0] @ k[0].t()).sum()


@pytest.mark.parametrize("net, shape", [(ConvNet, (2, 3, 20, 20)), (LinearNet, (3, 5, 12)), (MatmulNet, (2, 9, 16))])
def test_counter_equals_flopcountermode_over_two(net, shape):
    torch.manual_seed(0)
    m = net().eval()
    x = torch.randn(*shape)
    rep = count_ops(m, (x,))
    # Same op set as FlopCounterMode (conv, mm, addmm, bmm, baddbmm; SDPA on its math path), same formulas: exact.
    assert rep.macs == flop_counter_macs(m, x)
    assert rep.macs > 0


def test_linear_and_matmul_are_classified():
    m = MatmulNet().eval()
    rep = count_ops(m, torch.randn(1, 9, 16))
    assert rep.by_type["linear"] == 9 * 16 * 48              # F.linear inside nn.Linear
    assert rep.by_type["matmul"] == rep.macs - rep.by_type["linear"]
    assert rep.spike_eligible_macs == 9 * 16 * 48


def test_linear_counts_by_hand():
    rep = count_ops(LinearNet(), torch.randn(3, 5, 12))
    assert rep.by_type["linear"] == 3 * 5 * (12 * 20 + 20 * 7)
    assert rep.params == 12 * 20 + 20 + 20 * 7
    assert rep.batch == 3
    rows = {r.name: r for r in rep.rows}
    assert rows["a"].count == 3 * 5 * 12 * 20 and rows["a"].params == 260 and rows["a"].type == "Linear"


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_rnn_matches_analytic_formula(mode):
    cls = getattr(nn, mode)
    i, h, layers, t, b = 10, 6, 2, 7, 3
    m = cls(i, h, num_layers=layers, bidirectional=True, batch_first=True)
    rep = count_ops(m, torch.randn(b, t, i))
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[mode]
    # per time step, per direction: G (I_l H + H H); layer 2 sees the 2H concatenated outputs
    per_step = 2 * gates * (i * h + h * h) + 2 * gates * (2 * h * h + h * h)
    assert rep.by_type["rnn"] == b * t * per_step
    assert rep.macs == rep.by_type["rnn"]


def test_bilstm_reference_value():
    # ml_zoo_papers.md §7/§12: BiLSTM 768 -> 256 x 2 at T = 128, weights only, analytic 128*2*4*(768+256)*256.
    assert rnn_step_macs(nn.LSTM(768, 256, bidirectional=True)) * 128 == 268_435_456
    rep = count_ops(nn.LSTM(768, 256, bidirectional=True, batch_first=True).to("meta"),
                    torch.empty(1, 128, 768, device="meta"))
    assert rep.by_type["rnn"] == 268_435_456
    assert rep.params == 2_101_248


def test_packed_sequence_counts_real_steps():
    m = nn.LSTM(4, 3)
    lengths = [5, 2]
    x = nn.utils.rnn.pack_padded_sequence(torch.randn(5, 2, 4), lengths)
    assert count_ops(m, (x,)).by_type["rnn"] == sum(lengths) * 4 * (4 * 3 + 3 * 3)


def test_norm_convention():
    x = torch.randn(2, 4, 6, 6)
    bn = nn.BatchNorm2d(4).eval()
    assert count_ops(bn, x).by_type["norm"] == x.numel()                  # folded a*x + b
    assert count_ops(bn.train(), x).by_type["norm"] == 4 * x.numel()      # statistics + affine
    assert count_ops(nn.GroupNorm(2, 4), x).by_type["norm"] == 4 * x.numel()
    assert count_ops(nn.LayerNorm(6, elementwise_affine=False), x).by_type["norm"] == 3 * x.numel()
    assert count_ops(bn.eval(), x).macs == 0


def test_sparse_product_counts_nonzeros():
    idx = torch.tensor([[0, 1, 2, 2], [1, 0, 0, 2]])
    a = torch.sparse_coo_tensor(idx, torch.ones(4), (3, 3), check_invariants=True)

    class G(nn.Module):
        def forward(self, a, e):
            return torch.mm(a, e)

    rep = count_ops(G(), (a, torch.randn(3, 5)))
    assert rep.by_type["spmm"] == 4 * 5 and rep.macs == 20


def test_meta_device_matches_cpu():
    torch.manual_seed(0)
    m = ConvNet()
    cpu = count_ops(m, torch.randn(1, 3, 20, 20))
    meta = count_ops(ConvNet().to("meta"), torch.empty(1, 3, 20, 20, device="meta"))
    assert cpu.macs == meta.macs and cpu.params == meta.params


# ---------------------------------------------------------------------------------------------------- ResNet-18
class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.down = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
                     if stride != 1 or c_in != c_out else None)

    def forward(self, x):
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(y + (x if self.down is None else self.down(x)))


class ResNet18(nn.Module):
    """torchvision's resnet18 layout (He et al. 2016), written here because torchvision is not a dependency."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        layers, c_in = [], 64
        for c_out, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [BasicBlock(c_in, c_out, stride), BasicBlock(c_out, c_out, 1)]
            c_in = c_out
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.layers(self.stem(x)), 1).flatten(1))


def test_resnet18_reference_numbers():
    m = ResNet18().to("meta").eval()
    rep = count_ops(m, torch.empty(1, 3, 224, 224, device="meta"))
    assert rep.params == 11_689_512                                  # torchvision docs: exact
    # thop / fvcore / ptflops report 1.82 GMAC (torchvision's "1.81 GFLOPS" is the MAC convention); they differ from
    # ours only by BN/ReLU/pool conventions, well inside 1 %.
    assert rep.macs == pytest.approx(1.82e9, rel=0.01)
    assert rep.by_type["norm"] > 0 and rep.by_type["matmul"] == 0


# ---------------------------------------------------------------------------------------------------- synops
def test_linear_synops_exact():
    net = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    table = fan_out_table(net, torch.zeros(1, 6))
    assert list(table) == ["0", "2"] and table["0"].order == 0
    assert table["2"].mean_fan_out == 3 and table["2"].connections == 15
    s = torch.tensor([0.0, 1.0, 2.0, 0.0, 4.0])
    rep = synops(table, {"2": s})
    assert rep.synops == pytest.approx(3 * 7.0) and rep.spikes == 7.0 and rep.silent_layers == ("0",)


@pytest.mark.parametrize("kw", [dict(kernel_size=3, padding=1), dict(kernel_size=5, stride=2, padding=2, groups=2),
                                dict(kernel_size=3, dilation=2, padding=1, stride=3)])
def test_conv_fan_out_matches_brute_force(kw):
    conv = nn.Conv2d(4, 6, **kw)
    x = torch.zeros(1, 4, 11, 9)
    fo = fan_out_table(conv, x)[""]
    ones_w = torch.ones_like(conv.weight)
    # independent: input element i's fan-out = number of (output, weight) pairs reading it
    #            = d/dx_i of sum(conv(x; W = 1)), by autograd through the library convolution
    xr = torch.zeros(1, 4, 11, 9, requires_grad=True)
    F.conv2d(xr, ones_w, stride=conv.stride, padding=conv.padding, dilation=conv.dilation, groups=conv.groups).sum().backward()
    full = xr.grad
    assert torch.equal(fo.fan_out_map().float(), full[0])
    # total connections = sum of valid taps over outputs = conv of ones with ones
    total = F.conv2d(torch.ones_like(x), ones_w, stride=conv.stride, padding=conv.padding, dilation=conv.dilation,
                     groups=conv.groups).sum()
    assert fo.connections == int(total)
    spikes = torch.rand(4, 11, 9, dtype=torch.float64)
    assert synops({"": fo}, {"": spikes}).synops == pytest.approx(float((spikes * full[0].double()).sum()), rel=1e-12)


def test_uniform_spikes_reproduce_the_sop_recipe_without_padding():
    # SOP_l = fr x T x MAC_l (ml_zoo_papers.md §14) when no tap falls in padding
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))
    x = torch.zeros(1, 3, 10, 10)
    table = fan_out_table(net, x)
    rep = count_ops(net, x)
    layer_macs = {r.name: r.count for r in rep.rows}
    fr, steps = 0.2, 5
    res = synops(table, uniform_spikes(table, fr * steps))
    assert res.synops == pytest.approx(fr * steps * (layer_macs["2"] + layer_macs["4"]))


def test_synops_rejects_unknown_layers_and_bad_counts():
    net = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"valid synaptic layers: \['0'\]"):
        synops(net, {"nope": 1.0}, inputs=(torch.zeros(1, 2),))
    with pytest.raises(ValueError, match=">= 0"):
        synops(net, {"0": -1.0}, inputs=(torch.zeros(1, 2),))
    with pytest.raises(ValueError, match="shape"):
        synops(net, {"0": torch.ones(3)}, inputs=(torch.zeros(1, 2),))
    assert math.isclose(synops(net, {"0": 2.0}, inputs=(torch.zeros(1, 2),)).synops, 4.0)
