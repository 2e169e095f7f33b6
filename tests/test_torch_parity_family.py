"""Step-by-step parity of Adam's family with torch.optim, so that configurations port.

For each algorithm and each combination of its options, 60 steps of ours and
of ``torch.optim.<Class>`` (single-tensor, foreach and, where PyTorch has it,
fused) from the same start with the same gradients stay together.  Skipped
without PyTorch (an optional peer, never a dependency).

Tolerances: both sides round differently (PyTorch's ``lerp`` and ``addcmul``
against our kernel's forms, ``sqrt(v / bc) + eps`` against
``sqrt(v) + eps sqrt(bc)``), a few ulp per step; over 60 steps that stays
below 1e-11 relative in float64 and 1e-5 in float32.  PyTorch keeps NAdam's
``mu_product`` in its default dtype (float32 unless changed); the float64
runs set the default dtype to float64 so both keep it in float64.
"""

import numpy as np
import pytest

import adamopt

torch = pytest.importorskip("torch")

TOL = {np.float32: dict(rtol=2e-5, atol=1e-6), np.float64: dict(rtol=1e-11, atol=1e-13)}


def _torch_kwargs(options):
    """Our options in PyTorch's spelling (betas as a pair)."""
    out = dict(options)
    if "beta1" in out or "beta2" in out:
        out["betas"] = (out.pop("beta1", 0.9), out.pop("beta2", 0.999))
    return out


def _run_both(cls_name, dtype, options, impl="single", steps=60):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(33).astype(dtype)
    ours = x0.copy()
    opt = getattr(adamopt, cls_name)(ours, **options)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if dtype is np.float64 else torch.float32)
    try:
        p = torch.tensor(x0.copy(), requires_grad=True)
        flags = {"single": dict(foreach=False), "foreach": dict(foreach=True),
                 "fused": dict(fused=True)}[impl]
        topt = getattr(torch.optim, cls_name)([p], **_torch_kwargs(options), **flags)
        for t in range(steps):
            g = rng.standard_normal(33).astype(dtype) * (1 + t % 7)
            opt.step(g)
            p.grad = torch.from_numpy(g.copy())
            topt.step()
            np.testing.assert_allclose(ours, p.detach().numpy(), err_msg=f"step {t + 1}",
                                       **TOL[dtype])
    finally:
        torch.set_default_dtype(previous)


#: (class, options) of every combination compared, PyTorch's defaults first.
CASES = [
    ("SGD", dict(lr=0.01)),
    ("SGD", dict(lr=0.01, momentum=0.9)),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.01, momentum=0.8, dampening=0.3)),
    ("SGD", dict(lr=0.01, momentum=0.9, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.01, weight_decay=0.3)),
    ("Adagrad", dict(lr=0.01)),
    ("Adagrad", dict(lr=0.05, lr_decay=0.01, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.05, initial_accumulator_value=0.3, eps=1e-6, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.3, eps=1e-4, maximize=True)),
    ("Adamax", dict(lr=0.002)),
    ("Adamax", dict(lr=0.01, beta1=0.8, beta2=0.99, weight_decay=0.1)),
    ("Adamax", dict(lr=0.01, beta1=0.3, beta2=0.4, eps=1e-3, maximize=True)),
    ("NAdam", dict(lr=0.002)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.01, beta1=0.3, beta2=0.5, momentum_decay=0.1, maximize=True)),
]

#: Implementations of each class besides the single-tensor loop.
FAST_PATHS = {"SGD": ["foreach", "fused"], "Adagrad": ["foreach", "fused"],
              "RMSprop": ["foreach"], "Adamax": ["foreach"], "NAdam": ["foreach"]}


def _id(case):
    name, options = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in options.items())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_matches_pytorch_single_tensor(case, dtype):
    _run_both(case[0], dtype, case[1])


FAST_CASES = [pytest.param((name, options, impl), id=f"{_id((name, options))}-{impl}")
              for name, options in CASES for impl in FAST_PATHS.get(name, [])]


@pytest.mark.parametrize("case", FAST_CASES)
def test_matches_pytorch_fast_paths(case):
    name, options, impl = case
    _run_both(name, np.float64, options, impl=impl)


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_reference_matches_pytorch(case):
    # The oracle of the kernel tests is itself PyTorch's algorithm.
    from family_specs import SPECS

    name, options = case
    spec = next(s for s in SPECS if s.cls.__name__ == name)
    lr = options.get("lr", 1e-3)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(17)
    init = spec.cls(x.copy(), **options).state_dict()
    state = {key: init[key] for key in spec.arrays(options)}
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        p = torch.tensor(x.copy(), requires_grad=True)
        topt = getattr(torch.optim, name)([p], **_torch_kwargs(options), foreach=False)
        for t in range(1, 31):
            g = rng.standard_normal(17) * (1 + t % 5)
            x, state = spec.reference(x, g, state, t, **{**options, "lr": lr})
            p.grad = torch.from_numpy(g.copy())
            topt.step()
            np.testing.assert_allclose(x, p.detach().numpy(), rtol=1e-11, atol=1e-13,
                                       err_msg=f"step {t}")
    finally:
        torch.set_default_dtype(previous)
