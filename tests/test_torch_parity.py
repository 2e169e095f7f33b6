"""Step-by-step parity with torch.optim.Adam / AdamW, so that configurations port.

Skipped when PyTorch is not installed (it is an optional peer, never a
dependency).  Tolerances: both sides round differently (PyTorch evaluates
sqrt(v)/sqrt(1-beta2**t) + eps and v with beta2 * v + (1-beta2) g^2, adamopt
the algebraically equal forms of its kernel docstring), so they agree to a few
ulp per step; over 100 steps that stays below 1e-12 relative in float64 and
1e-5 in float32.
"""

import numpy as np
import pytest

import adamopt

torch = pytest.importorskip("torch")

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def _run_both(cls_name, dtype, steps=100, torch_impl="single", **options):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(33).astype(dtype)
    ours = x0.copy()
    opt = getattr(adamopt, cls_name)(ours, **options)
    p = torch.tensor(x0.copy(), requires_grad=True)
    impl = {"single": dict(foreach=False), "fused": dict(fused=True),
            "foreach": dict(foreach=True)}[torch_impl]
    topt = getattr(torch.optim, cls_name)(
        [p], lr=options.get("lr", 1e-3), betas=(options.get("beta1", 0.9), 0.999),
        weight_decay=options.get("weight_decay", 0.0 if cls_name == "Adam" else 1e-2),
        amsgrad=options.get("amsgrad", False), maximize=options.get("maximize", False),
        **impl)
    for t in range(steps):
        g = rng.standard_normal(33).astype(dtype) * (1 + t % 7)
        opt.step(g)
        p.grad = torch.from_numpy(g.copy())
        topt.step()
        np.testing.assert_allclose(ours, p.detach().numpy(), err_msg=f"step {t + 1}",
                                   **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls_name", ["Adam", "AdamW"])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("maximize", [False, True])
def test_matches_pytorch_single_tensor(dtype, cls_name, amsgrad, maximize):
    _run_both(cls_name, dtype, lr=0.01, amsgrad=amsgrad, maximize=maximize)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls_name", ["Adam", "AdamW"])
def test_matches_pytorch_with_weight_decay(dtype, cls_name):
    _run_both(cls_name, dtype, lr=0.01, weight_decay=0.3, beta1=0.8)


@pytest.mark.parametrize("torch_impl", ["fused", "foreach"])
@pytest.mark.parametrize("cls_name", ["Adam", "AdamW"])
def test_matches_pytorch_fused_and_foreach(torch_impl, cls_name):
    _run_both(cls_name, np.float64, torch_impl=torch_impl, lr=0.01, amsgrad=True,
              weight_decay=0.1)
