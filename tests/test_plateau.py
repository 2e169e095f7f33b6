"""ReduceOnPlateau (adamopt._plateau): torch's ReduceLROnPlateau report for report,
its state (==, pickle, to_config, state_dict), its use in a class loop, and in the
SciPy methods, which report their smoothed objective and resume it bitwise from a
result's state and from a checkpoint."""

import copy
import json
import pickle

import numpy as np
import pytest
from helpers import CHECKPOINT_X, CHECKPOINT_Y, expect, least_squares, name
from scipy.optimize import minimize

import adamopt
from adamopt import ReduceOnPlateau


def metrics(n=300, seed=0):
    """A noisy decreasing curve with long flat stretches and repeats (ties)."""
    rng = np.random.default_rng(seed)
    curve = np.maximum(1.0 - np.arange(300) / 150, 0.2) + 0.01 * rng.standard_normal(300)
    curve[100:140] = curve[100]
    return [float(v) for v in np.round(curve, 3)][:n]


OPTIONS = [
    dict(),
    dict(factor=0.5, patience=3),
    dict(mode="max", factor=0.5, patience=2),
    dict(threshold_mode="abs", threshold=0.01, patience=2),
    dict(mode="max", threshold_mode="abs", threshold=0.005, patience=1),
    dict(factor=0.3, patience=1, cooldown=4),
    dict(factor=0.2, patience=0, min_lr=1e-3),
    dict(factor=0.9, patience=0, eps=0.05),
]


def ours_for(options, lr):
    ours = {("min_value" if k == "min_lr" else k): v for k, v in options.items()}
    return ReduceOnPlateau(lr, **ours)


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(map(str, o.items())))
@pytest.mark.parametrize("lr", [1.0, 0.1])
def test_matches_pytorch_report_for_report(options, lr):
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **options)
    ours = ours_for(options, lr)
    sign = -1.0 if options.get("mode") == "max" else 1.0
    for metric in metrics():
        theirs.step(sign * metric)
        ours.step(sign * metric)
        assert ours(1) == opt.param_groups[0]["lr"]
        assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter, ours.last_epoch) == (
            theirs.best, theirs.num_bad_epochs, theirs.cooldown_counter, theirs.last_epoch)


def test_value_does_not_depend_on_the_step():
    sched = ReduceOnPlateau(0.5)
    assert sched(1) == sched(10**6) == 0.5


def test_nan_counts_as_not_better():
    sched = ReduceOnPlateau(patience=0)
    sched.step(1.0)
    sched.step(float("nan"))
    assert sched.value == 0.1


# -- the state ----------------------------------------------------------------------------


def reported(n=57, **options):
    sched = ReduceOnPlateau(factor=0.5, patience=2, **options)
    for metric in metrics(n):
        sched.step(metric)
    return sched


def test_state_dict_round_trips():
    sched, fresh = reported(), ReduceOnPlateau(factor=0.5, patience=2)
    fresh.load_state_dict(sched.state_dict())
    assert fresh == sched


def test_state_dict_is_json():
    assert json.loads(json.dumps(ReduceOnPlateau().state_dict()))["best"] is None


def test_restored_schedule_continues_identically():
    whole, half = reported(300), reported(120)
    again = pickle.loads(pickle.dumps(half))
    for metric in metrics(300)[120:]:
        again.step(metric)
    assert again == whole


def test_config_round_trips_through_json_with_the_state():
    sched = reported()
    assert ReduceOnPlateau.from_config(json.loads(json.dumps(sched.to_config()))) == sched


def test_nested_in_a_product_round_trips():
    product = adamopt.LinearWarmup(3) * reported()
    config = json.loads(json.dumps(product.to_config()))
    assert type(product).from_config(config) == product


def test_repr_rebuilds_it():
    sched = reported()
    assert eval(repr(sched), vars(adamopt)) == sched


def test_state_is_part_of_equality():
    assert reported(60) != reported(61)


def test_is_not_hashable():
    with pytest.raises(TypeError):
        hash(ReduceOnPlateau())


def test_a_bad_state_is_refused_with_nothing_changed():
    sched = reported()
    before = sched.state_dict()
    with pytest.raises(ValueError, match=expect(r"state\['num_bad_epochs'\]")):
        sched.load_state_dict({**before, "num_bad_epochs": -1})
    assert sched.state_dict() == before


def test_deep_copy_is_independent():
    sched = reported()
    other = copy.deepcopy(sched)
    other.step(-100.0)
    assert other != sched


# -- a class loop -------------------------------------------------------------------------


def test_optimizer_uses_the_reduced_value_from_the_next_step():
    x, y = np.array([1.0]), np.array([1.0])
    sched = ReduceOnPlateau(factor=0.5, patience=0)
    opt = adamopt.SGD(x, lr=0.1, schedule=sched)
    plain = adamopt.SGD(y, lr=0.05)
    sched.step(1.0)
    sched.step(1.0)                       # not better: halved
    opt.step(np.array([2.0]))
    plain.step(np.array([2.0]))
    assert x[0] == y[0]


def test_the_optimizer_schedule_attribute_takes_the_reports():
    opt = adamopt.Adam(np.zeros(2), schedule=ReduceOnPlateau(patience=0))
    opt.schedule.step(1.0)
    opt.schedule.step(2.0)
    assert opt.schedule(opt.t + 1) == pytest.approx(0.1)


# -- bad arguments ------------------------------------------------------------------------

BAD = [
    (dict(factor=1.0), ValueError, "factor"),
    (dict(factor="0.1"), TypeError, "factor"),
    (dict(patience=-1), ValueError, "patience"),
    (dict(patience=2.0), TypeError, "patience"),
    (dict(mode="avg"), ValueError, "mode"),
    (dict(threshold_mode="pct"), ValueError, "threshold_mode"),
    (dict(threshold=-1e-4), ValueError, "threshold"),
    (dict(cooldown=-2), ValueError, "cooldown"),
    (dict(min_value=-1.0), ValueError, "min_value"),
    (dict(eps=float("nan")), ValueError, "eps"),
    (dict(value=float("inf")), ValueError, "value"),
    (dict(state={"value": 1.0}), ValueError, "state"),
    (dict(state=[1.0]), TypeError, "state"),
]


@pytest.mark.parametrize(("options", "error", "parameter"), BAD,
                         ids=[f"{p}-{i}" for i, (_, _, p) in enumerate(BAD)])
def test_bad_argument_is_refused_naming_it(options, error, parameter):
    with pytest.raises(error, match=expect(name(parameter))):
        ReduceOnPlateau(**options)


def test_a_report_that_is_not_a_number_is_refused():
    with pytest.raises(TypeError, match=expect(name("metric"))):
        ReduceOnPlateau().step("1.0")


# -- the SciPy methods --------------------------------------------------------------------


def stream(seed=3):
    return adamopt.minibatches(CHECKPOINT_X, CHECKPOINT_Y, batch_size=16, seed=seed)


def fit(maxiter, batches=None, **options):
    batches = stream() if batches is None else batches
    return adamopt.adam(least_squares, np.zeros(6), jac=True, maxiter=maxiter,
                        batches=batches, **{"lr": 0.05, "patience": 10**6, "gtol": 0,
                                            **options})


def test_method_reports_once_per_epoch():
    res = fit(200, schedule=ReduceOnPlateau(patience=1))
    assert res.state["optimizer"]["schedule"].last_epoch == 200 // 8   # 8 batches an epoch


def test_method_without_batches_reports_every_iteration():
    A = np.diag([1.0, 10.0])
    res = minimize(lambda x: (0.5 * x @ A @ x, A @ x), np.ones(2), jac=True,
                   method=adamopt.adam,
                   options={"lr": 0.1, "schedule": ReduceOnPlateau(patience=3),
                            "maxiter": 50, "gtol": 0})
    assert res.state["optimizer"]["schedule"].last_epoch == 50


def test_method_reports_the_smoothed_objective():
    res = fit(16, schedule=ReduceOnPlateau())
    assert res.state["optimizer"]["schedule"].best == res.fun_smoothed


def test_method_lowers_the_rate_on_a_plateau():
    res = fit(400, schedule=ReduceOnPlateau(factor=0.5, patience=1))
    assert res.state["optimizer"]["schedule"].value < 1.0


def test_method_leaves_the_given_schedule_as_it_was():
    sched = ReduceOnPlateau(factor=0.5, patience=1)
    fit(400, schedule=sched)
    assert sched == ReduceOnPlateau(factor=0.5, patience=1)


def test_method_resumes_from_its_state_bitwise():
    options = dict(lr=0.05 * ReduceOnPlateau(factor=0.5, patience=1))
    whole = fit(300, **options)
    batches = stream()
    half = fit(130, batches=batches, **options)
    rest = adamopt.adam(least_squares, half.x, jac=True, maxiter=170, batches=batches,
                        patience=10**6, gtol=0, state=half.state)
    assert rest.x.tobytes() == whole.x.tobytes()
    assert rest.state["optimizer"]["lr"] == whole.state["optimizer"]["lr"]


def test_method_resumes_from_a_checkpoint_bitwise(tmp_path):
    path = str(tmp_path / "run.ckpt")
    options = dict(schedule=ReduceOnPlateau(factor=0.5, patience=1))
    whole = fit(300, **options)
    fit(131, checkpoint=path, checkpoint_every=20, **options)
    resumed = adamopt.adam(least_squares, np.zeros(6), jac=True, maxiter=300,
                           batches=stream(), patience=10**6, gtol=0, lr=0.05,
                           checkpoint=path, resume=True)
    assert resumed.x.tobytes() == whole.x.tobytes()
    assert resumed.state["optimizer"]["schedule"] == whole.state["optimizer"]["schedule"]
