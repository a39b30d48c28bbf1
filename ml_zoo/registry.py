"""The zoo registry: one :class:`ModelSpec` per workload and :func:`create`.

Importing this module does not import torch; :func:`create` imports the model module it needs.
Every number in :attr:`ModelSpec.reported` comes from ``ml_zoo_papers.md`` with its source tag:
``[code]`` official repository, ``[log]`` official training log, ``[abs]`` abstract, ``[est]`` counted by the project on
a re-implementation, ``[verify]`` from memory.
"""
from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

__all__ = ["InputSpec", "ReportedNumber", "ModelSpec", "CONFIGS", "list_models", "get_spec", "create", "config_of"]

CONFIGS: tuple[str, ...] = ("paper", "small")


@dataclass(frozen=True)
class InputSpec:
    """One positional forward input: ``shape`` uses B for the batch; ``dtype`` is the torch dtype name."""

    name: str
    shape: str
    dtype: str
    doc: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class ReportedNumber:
    """A published or reference number: ``quantity`` (e.g. ``params``), ``value``, ``unit``, ``source`` tag and note."""

    quantity: str
    value: float
    unit: str
    source: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelSpec:
    """Metadata of one zoo entry.

    Attributes
    ----------
    name : str
        Registry key.
    title : str
        Paper title (short).
    citation : str
        Venue and arXiv id.
    task, dataset : str
        What the model does, on which data (paper configuration).
    inputs : dict[str, tuple[InputSpec, ...]]
        Forward inputs for each configuration (``"paper"``, ``"small"``).
    outputs : str
        What ``forward`` returns, with shapes.
    reported : tuple[ReportedNumber, ...]
        Reference numbers with their source tags (params at batch 1, MACs per forward at batch 1).
    convertible : bool
        Whether an ANN-to-SNN conversion target exists in the model (whole model, or the parts in
        ``convertible_modules``) without retraining beyond activation swaps.
    convertible_modules : tuple[str, ...]
        Child modules that convert (empty = the whole model when ``convertible``).
    conversion_notes : str
        What converts and what does not.
    assumptions : tuple[str, ...]
        Choices made where the paper leaves the architecture open.
    module, cls, config_cls : str
        Where the implementation lives (``vo2neuro.ml_zoo.models.<module>``).
    meta_forward : bool
        Whether a forward pass runs on the ``meta`` device (False where inputs are sparse graphs).
    """

    name: str
    title: str
    citation: str
    task: str
    dataset: str
    inputs: dict[str, tuple[InputSpec, ...]]
    outputs: str
    reported: tuple[ReportedNumber, ...]
    convertible: bool
    conversion_notes: str
    assumptions: tuple[str, ...]
    module: str
    cls: str
    config_cls: str
    convertible_modules: tuple[str, ...] = ()
    meta_forward: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def reported_value(self, quantity: str) -> ReportedNumber | None:
        """The first reported number named ``quantity``, or None."""
        return next((r for r in self.reported if r.quantity == quantity), None)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["inputs"] = {k: [i.to_dict() for i in v] for k, v in self.inputs.items()}
        d["reported"] = [r.to_dict() for r in self.reported]
        return d


def _i(name: str, shape: str, dtype: str = "float32", doc: str = "") -> InputSpec:
    return InputSpec(name, shape, dtype, doc)


_SPECS: dict[str, ModelSpec] = {}


def _register(spec: ModelSpec) -> None:
    _SPECS[spec.name] = spec


_register(ModelSpec(
    name="cmal",
    title="CMAL: A Novel Cross-Modal Associative Learning Framework for Vision-Language Pre-Training",
    citation="Ma et al., ACM MM 2024 [verify]; arXiv:2410.12595",
    task="vision-language pre-training (associative mapping) + SNLI-VE classification",
    dataset="image-text pairs; SNLI-VE, VQA, NLVR2, RefCOCO+ downstream [verify]",
    inputs={
        "paper": (_i("ids", "(B, 40)", "int64"), _i("text_mask", "(B, 40)", "bool"),
                  _i("regions", "(B, 36, 2048)", doc="BUTD Faster R-CNN features"), _i("boxes", "(B, 36, 7)"),
                  _i("anchors", "(B, 4, 2)", "int64", "(token position, region index)"),
                  _i("anchor_valid", "(B, 4)", "bool")),
        "small": (_i("ids", "(B, 8)", "int64"), _i("text_mask", "(B, 8)", "bool"), _i("regions", "(B, 6, 16)"),
                  _i("boxes", "(B, 6, 7)"), _i("anchors", "(B, 2, 2)", "int64"), _i("anchor_valid", "(B, 2)", "bool")),
    },
    outputs="CMALOutput(logits (B, 3), text_to_region (B, A, R), region_to_text (B, A, T))",
    reported=(
        ReportedNumber("params", 112_281_639, "1", "[est]", "UNITER-base-like ASSUMED architecture, detector excluded"),
        ReportedNumber("macs", 6.64e9, "MAC", "[est]", "40 tokens + 36 regions, batch 1"),
    ),
    convertible=False,
    conversion_notes="poor (transformer): only the region projection and FFN linears after GELU->ReLU and LN folding; "
                     "softmax attention (QK^T, AV), LayerNorm, L2 normalisation and heads stay non-spiking",
    assumptions=(
        "UNITER-base-like backbone: bert-base-cased embeddings, d=768, 12 joint post-LN layers, 0 uni-modal layers",
        "region input LN(Linear(2048->768)) + LN(Linear(7->768)); hypersphere = L2 normalisation x learnable radius",
        "swap filling adds a learned 'swapped' embedding; anchor masking uses a learned [MASK] vector with p=0.15 "
        "(training only)",
        "associative head: Linear(d->d) query per direction scored by dot product against the other modality",
        "SNLI-VE head UNITER-style Linear(d->2d)-GELU-LN-Linear(2d->3); 4 anchors per pair in the example inputs",
    ),
    module="cmal", cls="CMAL", config_cls="CMALConfig",
))

_register(ModelSpec(
    name="ddpm_unet",
    title="Efficient Diffusion Models: A Comprehensive Survey from Principles to Practices -> DDPM U-Net workload",
    citation="survey: Ma et al., arXiv:2410.11795; model: Ho et al., DDPM, NeurIPS 2020",
    task="unconditional image generation (noise prediction, one denoising step)",
    dataset="CIFAR-10 32x32",
    inputs={
        "paper": (_i("x", "(B, 3, 32, 32)"), _i("t", "(B,)", "int64", "timestep in [0, 1000)")),
        "small": (_i("x", "(B, 3, 16, 16)"), _i("t", "(B,)", "int64")),
    },
    outputs="eps (B, 3, H, W)",
    reported=(
        ReportedNumber("params", 35_746_307, "1", "[est]", "equals the paper's 35.7 M"),
        ReportedNumber("macs", 6.222e9, "MAC", "[est]", "per denoising step incl. attention matmuls; 6.054 G without"),
        ReportedNumber("params_256", 113_673_219, "1", "[est]", "256x256 config, the paper's ~114 M"),
        ReportedNumber("fid", 3.17, "1", "[verify]", "Ho et al., CIFAR-10, 1000 sampling steps"),
    ),
    convertible=False,
    conversion_notes="partial: convs/linears only after SiLU->ReLU retraining; GroupNorm cannot be folded; attention "
                     "and the sinusoidal embedding stay non-spiking",
    assumptions=("the survey has no model; the standard DDPM CIFAR-10 U-Net (pytorch_diffusion layout) stands for it",),
    module="ddpm_unet", cls="DDPMUNet", config_cls="DDPMConfig",
))

_register(ModelSpec(
    name="dualvae",
    title="DualVAE: Dual Disentangled Variational AutoEncoder for Recommendation",
    citation="Guo et al., SDM 2024; arXiv:2401.04914",
    task="collaborative filtering (top-K recommendation)",
    dataset="MovieLens-1M (6,040 users x 3,706 items), A=10 aspects",
    inputs={"paper": (_i("x", "(B, 3706)", doc="binary user rows"),), "small": (_i("x", "(B, 50)"),)},
    outputs="(scores (B, n_items), mu (B, A, k), std (B, A, k))",
    reported=(
        ReportedNumber("params", 395_280, "1", "[est]", "from the official config (code)"),
        ReportedNumber("macs_batch128", 0.51e9, "MAC", "[est]", "one ML-1M user batch of 128"),
        ReportedNumber("recall@20", 0.2365, "1", "[log]", "ML-1M"),
        ReportedNumber("ndcg@20", 0.3643, "1", "[log]", "ML-1M"),
    ),
    convertible=False,
    conversion_notes="poor: encoder/decoder linears convert after tanh->ReLU with mu at inference; sampling, "
                     "sigmoid/softmax and the theta-beta inner products do not",
    assumptions=("InfoNCE with in-batch negatives and a unit-normalised neighbourhood representation",),
    module="dualvae", cls="DualVAE", config_cls="DualVAEConfig",
))

_register(ModelSpec(
    name="lgmrec",
    title="LGMRec: Local and Global Graph Learning for Multimodal Recommendation",
    citation="Guo et al., AAAI 2024, pp. 8454-8462; arXiv:2312.16400",
    task="multimodal recommendation (graph + hypergraph)",
    dataset="Amazon Baby (19,445 users, 7,050 items, 160,792 interactions; VGG16 4096-d + SBERT 384-d features)",
    inputs={
        "paper": (_i("R", "(19445, 7050)", "float32 sparse_coo", "binary interactions"), _i("users", "(B,)", "int64"),
                  _i("items", "(B,)", "int64")),
        "small": (_i("R", "(40, 30)", "float32 sparse_coo"), _i("users", "(B,)", "int64"), _i("items", "(B,)", "int64")),
    },
    outputs="scores (B,)",
    reported=(
        ReportedNumber("params", 2_000_320, "1", "[est]", "trainable, from the code; frozen features excluded"),
        ReportedNumber("macs", 2.1e9, "MAC", "[est]", "dense projections of one full-graph forward (plus sparse)"),
    ),
    convertible=False,
    conversion_notes="linear-synapse only: graph propagation is fixed-weight but needs signed rate coding; no ReLU; "
                     "gumbel-softmax, L2 normalisation and dot-product scoring do not convert",
    assumptions=(
        "eval mode uses the noise-free tempered softmax instead of gumbel-softmax (deterministic inference)",
        "the interaction graph is an input; example inputs are a random graph with the dataset's size",
    ),
    module="lgmrec", cls="LGMRec", config_cls="LGMRecConfig", meta_forward=False,
))

_register(ModelSpec(
    name="lmd",
    title="LMD: Faster Image Reconstruction with Latent Masking Diffusion",
    citation="Ma et al., AAAI 2024, doi:10.1609/aaai.v38i5.28209; arXiv:2312.07971",
    task="masked autoencoding of VAE latents (self-supervised pre-training)",
    dataset="ImageNet 224x224 -> SD-VAE latents (4, 28, 28)",
    inputs={"paper": (_i("latents", "(B, 4, 28, 28)"),), "small": (_i("latents", "(B, 4, 8, 8)"),)},
    outputs="(loss (), pred (B, L, p*p*4), mask (B, L))",
    reported=(
        ReportedNumber("params", 110_817_856, "1", "[est]", "incl. 64,000 fixed position-embedding values"),
        ReportedNumber("macs", 2.395e9, "MAC", "[est]", "mask ratio 0.75 (4.899 G at 0.15)"),
        ReportedNumber("params_finetune", 85_914_088, "1", "[est]", "vit_base_patch4, 1000 classes (not built)"),
    ),
    convertible=False,
    conversion_notes="poor: only the patch embedding and linears after GELU->ReLU; attention, LayerNorm and the VAE do not",
    assumptions=(
        "the frozen SD-VAE encoder is preprocessing, outside the module (count it separately)",
        "piecewise scheduler breakpoints 1/6, 1/3, 1/2; third scheduler = linear [verify]",
    ),
    module="lmd", cls="LatentMAE", config_cls="LMDConfig",
))

_register(ModelSpec(
    name="wcl_bbcd",
    title="WCL-BBCD: A Contrastive Learning and Knowledge Graph Approach to Named Entity Recognition",
    citation="Zhou et al., arXiv:2203.06925",
    task="named-entity recognition (BIO tagging)",
    dataset="CoNLL-2003 English (9 BIO tags); OntoNotes v5 (37)",
    inputs={
        "paper": (_i("ids", "(B, 128)", "int64"), _i("mask", "(B, 128)", "bool")),
        "small": (_i("ids", "(B, 16)", "int64"), _i("mask", "(B, 16)", "bool")),
    },
    outputs="emissions (B, T, num_tags)",
    reported=(
        ReportedNumber("params", 110_420_000, "1", "[est]", "110.42 M: bert-base-cased 108,310,272 + BiLSTM 2,101,248 "
                       "+ linear + CRF"),
        ReportedNumber("macs", 11.17e9 + 0.268e9, "MAC", "[est]", "BERT 11.17 G + BiLSTM 0.268 G at T=128"),
    ),
    convertible=False,
    conversion_notes="poor: BERT (softmax, GELU, LN), the LSTM gates and CRF Viterbi do not convert; only the emission "
                     "linear is linear",
    assumptions=(
        "BiLSTM 256 per direction, T = 128",
        "word contrastive loss = InfoNCE over aligned words with cosine similarity",
        "knowledge-graph correction not modelled (non-neural)",
    ),
    module="wcl_bbcd", cls="WCLBBCD", config_cls="WCLConfig",
))

_register(ModelSpec(
    name="lt_hgcf",
    title="A Light Heterogeneous Graph Collaborative Filtering Model using Textual Information",
    citation="Wang et al., Knowledge-Based Systems 2021; arXiv:2010.07027",
    task="collaborative filtering on a heterogeneous user/item/text graph",
    dataset="Amazon Digital_Music 5-core (assumed sizes: 77,383 nodes)",
    inputs={
        "paper": (_i("relations", "(8*77383, 77383)", "float32 sparse_coo", "stacked row-normalised relations"),
                  _i("users", "(B,)", "int64"), _i("items", "(B,)", "int64")),
        "small": (_i("relations", "(8*100, 100)", "float32 sparse_coo"), _i("users", "(B,)", "int64"),
                  _i("items", "(B,)", "int64")),
    },
    outputs="scores (B,)",
    reported=(
        ReportedNumber("params_head", 148_225, "1", "[est]", "non-embedding params from the code; + 256 x n_nodes"),
        ReportedNumber("macs_per_pair", 148e3, "MAC", "[est]", "prediction network per (u, i) pair"),
    ),
    convertible=False,
    conversion_notes="partial: propagation is fixed-weight (signed rate coding); the MLP head converts with ReLU; "
                     "the GMF Hadamard product does not",
    convertible_modules=("predict.mlp",),
    assumptions=(
        "Digital_Music 5-core node counts 5,541 users, 3,568 items, 3,568 descriptions, 64,706 reviews [verify]",
        "initial residual adds the layer-1 output to every later layer",
    ),
    module="lt_hgcf", cls="LTHGCF", config_cls="LTHGCFConfig", meta_forward=False,
))

_register(ModelSpec(
    name="tddpg_rec",
    title="A Text-based Deep Reinforcement Learning Framework for Interactive Recommendation",
    citation="Wang et al., ECAI 2020, pp. 537-544, doi:10.3233/FAIA200136; arXiv:2004.06651",
    task="interactive recommendation (DDPG actor-critic)",
    dataset="Amazon Digital_Music / Beauty (GloVe d=100, 20 state items, 50 candidates)",
    inputs={
        "paper": (_i("state", "(B, 2000)"), _i("candidates", "(B, 50, 100)")),
        "small": (_i("state", "(B, 80)"), _i("candidates", "(B, 12, 16)")),
    },
    outputs="(policy (B, d), candidate scores (B, C), q (B, 1))",
    reported=(
        ReportedNumber("params_actor", 200_100, "1", "[est]", "from the code"),
        ReportedNumber("params_critic", 210_201, "1", "[est]", "from the code"),
        ReportedNumber("macs_actor", 0.2e6, "MAC", "[est]", "per step"),
        ReportedNumber("macs_critic", 0.21e6, "MAC", "[est]", "per step"),
    ),
    convertible=True,
    convertible_modules=("actor",),
    conversion_notes="best target: the actor (and critic) are Linear+ReLU MLPs; candidate scoring is a linear layer "
                     "with the candidate vectors as weights; min-max and top-k are monotone readouts",
    assumptions=("min-max normalisation per sample over the policy vector",),
    module="tddpg_rec", cls="TDDPGRec", config_cls="TDDPGConfig",
))

#: Fields shared by the two networks of the same paper.
_DEPTHWISE_PAPER = dict(
    title="PSDNet and DPDNet: Efficient channel expansion, Depthwise-Pointwise-Depthwise Inverted Bottleneck Block",
    citation="Li et al., arXiv:1909.01026; extended: Applied Intelligence 52(11):12860-12872 (2022), arXiv:2011.03701",
    task="image classification",
    dataset="CIFAR-10",
    inputs={"paper": (_i("x", "(B, 3, 32, 32)"),), "small": (_i("x", "(B, 3, 32, 32)"),)},
    outputs="logits (B, 10)",
)

_register(ModelSpec(
    name="psdnet",
    **_DEPTHWISE_PAPER,
    reported=(
        ReportedNumber("params", 1_389_658, "1", "[est]", "PSDNet-164 reconstruction; ResNet-164 = 1,704,154 "
                       "(the paper's 1.7 M)"),
        ReportedNumber("macs", 209.6e6, "MAC", "[est]", "reconstruction; ResNet-164 247.6 M"),
    ),
    convertible=True,
    conversion_notes="fully convertible: conv/PW/DW, foldable BN, ReLU, residual adds, average pooling, linear",
    assumptions=("blocks RECONSTRUCTED from the abstract on a pre-activation ResNet-164, DW multiplier t = 4",),
    module="depthwise_cnn", cls="PSDNet", config_cls="PSDNetConfig",
))

_register(ModelSpec(
    name="dpdnet",
    **_DEPTHWISE_PAPER,
    reported=(
        ReportedNumber("params", 1_487_146, "1", "[est]", "reconstruction, 66.5 % of MobileNetV2-CIFAR "
                       "(the paper says ~60 % [abs])"),
        ReportedNumber("macs", 51.57e6, "MAC", "[est]", "reconstruction"),
    ),
    convertible=True,
    conversion_notes="fully convertible: DW/PW convs, foldable BN, ReLU6 (a clip), residual adds, pooling, linear; "
                     "low-fan-in DW layers need more timesteps",
    assumptions=("DPD block RECONSTRUCTED from the abstract: stride on the expanding DW conv, ReLU6 only after it",),
    module="depthwise_cnn", cls="DPDNet", config_cls="DPDNetConfig",
))


def list_models() -> tuple[str, ...]:
    """Names of the registered models, in registry order."""
    return tuple(_SPECS)


def get_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name``; ``ValueError`` listing the valid names if unknown."""
    try:
        return _SPECS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown model {name!r}; valid: {sorted(_SPECS)}") from None


def config_of(name: str, config: str | Any = "paper") -> Any:
    """The config record of ``name`` for ``config`` (``"paper"``, ``"small"``, or a config instance passed through)."""
    spec = get_spec(name)
    mod = importlib.import_module(f"vo2neuro.ml_zoo.models.{spec.module}")
    cfg_cls = getattr(mod, spec.config_cls)
    if isinstance(config, cfg_cls):
        return config
    if config not in CONFIGS:
        raise ValueError(f"unknown config {config!r} for {name!r}; valid: {list(CONFIGS)} or a {spec.config_cls}")
    return getattr(cfg_cls, config)()


#: BibTeX key (vo2neuro/CITATIONS.bib) of each entry, registered with vo2neuro.citations when a model is created.
CITATION_KEYS: dict[str, tuple[str, ...]] = {
    "cmal": ("Ma2024CMAL",), "ddpm_unet": ("Ma2024EfficientDiffusion", "Ho2020DDPM"),
    "dualvae": ("Guo2024DualVAE",), "lgmrec": ("Guo2024LGMRec",), "lmd": ("Ma2024LMD",),
    "wcl_bbcd": ("Zhou2022WCL",), "lt_hgcf": ("Wang2021LTHGCF",), "tddpg_rec": ("Wang2020TDDPG",),
    "psdnet": ("Li2019PSDNet",), "dpdnet": ("Li2019PSDNet",),
}


def create(name: str, config: str | Any = "paper", *, device: Any = None) -> "nn.Module":
    """Build the zoo model ``name``.

    Parameters
    ----------
    name : str
        One of :func:`list_models`.
    config : {"paper", "small"} or config record
        ``"paper"``: the dimensions of the paper / official code; ``"small"``: a CPU-test size (forward well under 1 s).
    device : str or torch.device, optional
        Device to build on. ``"meta"`` allocates nothing: parameter counts and (for dense models) op counts of the
        paper-size models are then free.

    Returns
    -------
    torch.nn.Module
        A :class:`~vo2neuro.ml_zoo.models._base.ZooModel` with ``config`` and ``example_inputs(batch)``.

    Raises
    ------
    ValueError
        Unknown ``name`` or ``config`` (the message lists the valid ones).

    Examples
    --------
    >>> m = create("tddpg_rec", "paper", device="meta")
    >>> sum(p.numel() for p in m.actor.parameters()), sum(p.numel() for p in m.critic.parameters())
    (200100, 210201)
    """
    from vo2neuro import citations

    for key in CITATION_KEYS.get(name, ()):
        citations.register(key)
    import torch

    spec = get_spec(name)
    cfg = config_of(name, config)
    cls = getattr(importlib.import_module(f"vo2neuro.ml_zoo.models.{spec.module}"), spec.cls)
    if device is None:
        return cls(cfg)
    with torch.device(device):
        return cls(cfg)
