"""tc.optim against torch.optim: several steps, param groups, state_dict round trips, and
the learning-rate schedulers."""
import math

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn, optim
from tensorcore.errors import DTypeError, ShapeError
from tensorcore.optim import lr_scheduler
from tests.helpers import assert_close, needs_torch, rand, torch

SHAPES = [(3, 5), (7,), (1,)]


def make_params(dtype=np.float64, seed=0):
    values = [rand(*shape, seed=seed + i) for i, shape in enumerate(SHAPES)]
    ours = [nn.Parameter(tc.tensor(v.astype(dtype))) for v in values]
    theirs = [torch.nn.Parameter(torch.tensor(v.astype(dtype))) for v in values] \
        if torch is not None else None
    return ours, theirs


def set_grads(ours, theirs, step, skip=()):
    """Random gradients (the same for both libraries); parameters in ``skip`` get none."""
    for i, (p, q) in enumerate(zip(ours, theirs)):
        if i in skip:
            p.grad, q.grad = None, None
            continue
        g = rand(*p.shape, seed=100 * step + i).astype(p.dtype)
        p.grad, q.grad = tc.tensor(g), torch.tensor(g)


def groups(params, options):
    """One param group per options dict, parameters dealt out in order; {} = defaults."""
    if options is None:
        return params
    return [dict(params=[p], **o) for p, o in zip(params, options)]


CASES = [
    ("SGD", dict(lr=0.1), None),
    ("SGD", dict(lr=0.1, momentum=0.9), None),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), None),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.02), None),
    ("SGD", dict(lr=0.1, momentum=0.9), [dict(lr=0.01), dict(weight_decay=0.1),
                                         dict(nesterov=True)]),
    ("SGD", dict(lr=0.1, maximize=True), None),
    ("Adam", dict(), None),
    ("Adam", dict(lr=0.01, betas=(0.5, 0.999)), None),
    ("Adam", dict(lr=0.01, weight_decay=0.1, eps=1e-6), [dict(lr=0.1), {}, dict(betas=(0.8, 0.9))]),
    ("AdamW", dict(lr=0.01), None),
    ("AdamW", dict(lr=0.01, weight_decay=0.3), [dict(lr=0.1), {}, dict(weight_decay=0.0)]),
    ("RMSprop", dict(), None),
    ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.01), None),
    ("RMSprop", dict(lr=0.01, centered=True, alpha=0.9), None),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5), [dict(lr=0.001), {}, {}]),
    ("Adadelta", dict(), None),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1), [dict(lr=1.0), {}, {}]),
    ("Adagrad", dict(), None),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1),
     None),
]


@needs_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,options,group_options", CASES)
def test_matches_torch(name, options, group_options, dtype):
    ours, theirs = make_params(dtype)
    opt = getattr(optim, name)(groups(ours, group_options), **options)
    ref = getattr(torch.optim, name)(groups(theirs, group_options), **options)
    for step in range(6):
        # the last parameter has no gradient on step 2: it must stay put, state untouched
        set_grads(ours, theirs, step, skip=(2,) if step == 2 else ())
        opt.step()
        ref.step()
        for i, (p, q) in enumerate(zip(ours, theirs)):
            assert_close(p.numpy(), q.detach().numpy(), dtype, what=f"{name} step {step} param {i}")


@needs_torch
@pytest.mark.parametrize("name,options,group_options", [c for c in CASES if c[0] != "SGD"
                                                         or "momentum" in c[1]])
def test_state_dict_round_trip_continues_identically(name, options, group_options):
    ours, theirs = make_params()
    opt = getattr(optim, name)(groups(ours, group_options), **options)
    for step in range(3):
        set_grads(ours, theirs, step)
        opt.step()
    saved = opt.state_dict()
    snapshot = [p.numpy().copy() for p in ours]
    for step in range(3, 6):        # continue the original
        set_grads(ours, theirs, step)
        opt.step()
    expected = [p.numpy().copy() for p in ours]

    fresh = [nn.Parameter(tc.tensor(v)) for v in snapshot]
    resumed = getattr(optim, name)(groups(fresh, group_options), **options)
    resumed.load_state_dict(saved)
    for step in range(3, 6):
        set_grads(fresh, theirs, step)
        resumed.step()
    for p, e in zip(fresh, expected):
        np.testing.assert_array_equal(p.numpy(), e)


@needs_torch
def test_state_dict_layout_matches_torch():
    ours, theirs = make_params()
    opt = optim.Adam([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.1}])
    ref = torch.optim.Adam([{"params": theirs[:2]}, {"params": theirs[2:], "lr": 0.1}])
    set_grads(ours, theirs, 0, skip=(1,))
    opt.step()
    ref.step()
    mine, torchs = opt.state_dict(), ref.state_dict()
    assert sorted(mine["state"]) == sorted(torchs["state"]) == [0, 2]
    assert set(mine["state"][0]) == set(torchs["state"][0])
    assert [g["params"] for g in mine["param_groups"]] == \
        [g["params"] for g in torchs["param_groups"]]
    for ours_group, their_group in zip(mine["param_groups"], torchs["param_groups"]):
        for key in ("lr", "betas", "eps", "weight_decay"):
            assert ours_group[key] == their_group[key]
    assert_close(mine["state"][2]["exp_avg"].numpy(), torchs["state"][2]["exp_avg"].numpy())


def test_state_dict_is_a_copy():
    p = nn.Parameter(tc.tensor([1.0, 2.0]))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = tc.tensor([1.0, 1.0])
    opt.step()
    saved = opt.state_dict()
    before = saved["state"][0]["momentum_buffer"].numpy().copy()
    opt.step()
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"].numpy(), before)


def test_load_state_dict_rejects_mismatched_groups():
    a, b = nn.Parameter(tc.ones(2)), nn.Parameter(tc.ones(3))
    saved = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="doesn't match"):
        optim.SGD([a], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(saved)


def test_only_parameters_with_grad_move_and_zero_grad():
    a, b = nn.Parameter(tc.ones(2)), nn.Parameter(tc.ones(2))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = tc.tensor([1.0, -1.0])
    opt.step()
    np.testing.assert_array_equal(b.numpy(), [1.0, 1.0])
    assert b not in opt.state and not np.allclose(a.numpy(), 1.0)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert a.grad is None


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_a_gradient_of_another_shape_or_dtype_is_rejected(name):
    """As PyTorch rejects them on assignment to .grad; they reached NumPy, which broadcast a
    (3,) gradient over a (2, 3) parameter and applied a float32 one to float64, silently."""
    for grad, error, message in [
            (np.ones(3), ShapeError, r"parameter of shape \(2, 3\) to have that shape, got "
                                     r"\(3,\)"),
            (np.ones((2, 3), np.float32), DTypeError, "float64 parameter to be float64, got "
                                                       "float32")]:
        p = nn.Parameter(tc.tensor(np.ones((2, 3))))
        p.grad = tc.tensor(grad)
        with pytest.raises(error, match=rf"{name}.step: expected the gradient of a {message}"):
            getattr(optim, name)([p], lr=0.1).step()
        np.testing.assert_array_equal(p.numpy(), 1.0)


def test_a_read_only_parameter_is_rejected_by_name():
    data = np.ones(5)
    data.flags.writeable = False
    p = nn.Parameter(tc.from_numpy(data))
    p.grad = tc.tensor(np.ones(5))
    with pytest.raises(ValueError, match=r"SGD.step: expected a writeable parameter, got a "
                                         r"read-only array of shape \(5,\)"):
        optim.SGD([p], lr=0.1).step()


def test_add_param_group_and_group_defaults():
    a, b = nn.Parameter(tc.ones(2)), nn.Parameter(tc.ones(2))
    opt = optim.SGD([a], lr=0.1, momentum=0.5)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.5
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_bad_arguments():
    p = nn.Parameter(tc.ones(2))
    with pytest.raises(TypeError, match="betas_1"):
        optim.Adam([p], betas_1=0.9)
    with pytest.raises(TypeError, match="foreach"):
        optim.SGD([p], lr=0.1, foreach=True)
    with pytest.raises(ValueError, match="learning rate"):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([p], betas=(1.0, 0.9))
    with pytest.raises(NotImplementedError, match="amsgrad"):
        optim.Adam([p], amsgrad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="Tensor"):
        optim.SGD(p, lr=0.1)


def test_closure_is_called_and_its_loss_returned():
    w = nn.Parameter(tc.tensor([3.0]))
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss
    loss = opt.step(closure)
    assert float(loss) == 9.0
    assert float(w.item()) == pytest.approx(3.0 - 0.25 * 6.0)


# ---- schedulers ---------------------------------------------------------------------------

SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 11], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 1 / (1 + epoch))),
]


@needs_torch
@pytest.mark.parametrize("name,options", SCHEDULERS)
def test_scheduler_matches_torch(name, options):
    ours, theirs = make_params()
    opt = optim.SGD([{"params": ours[:1]}, {"params": ours[1:], "lr": 0.5}], lr=0.1)
    ref = torch.optim.SGD([{"params": theirs[:1]}, {"params": theirs[1:], "lr": 0.5}], lr=0.1)
    sched = getattr(lr_scheduler, name)(opt, **options)
    ref_sched = getattr(torch.optim.lr_scheduler, name)(ref, **options)
    for epoch in range(22):
        assert sched.get_last_lr() == pytest.approx(ref_sched.get_last_lr(), rel=1e-12,
                                                    abs=1e-15), f"epoch {epoch}"
        assert [g["lr"] for g in opt.param_groups] == pytest.approx(
            [g["lr"] for g in ref.param_groups], rel=1e-12, abs=1e-15)
        opt.step()
        ref.step()
        sched.step()
        ref_sched.step()


def test_scheduler_state_dict_round_trip():
    p = nn.Parameter(tc.ones(2))
    opt = optim.SGD([p], lr=1.0)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        sched.step()
    saved = sched.state_dict()
    expected = [sched.step() or sched.get_last_lr()[0] for _ in range(3)]

    opt2 = optim.SGD([nn.Parameter(tc.ones(2))], lr=1.0)
    sched2 = lr_scheduler.CosineAnnealingLR(opt2, T_max=10)
    sched2.load_state_dict(saved)
    opt2.param_groups[0]["lr"] = saved["_last_lr"][0]
    got = [sched2.step() or sched2.get_last_lr()[0] for _ in range(3)]
    assert got == pytest.approx(expected, rel=1e-12)
    assert expected[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 7 / 10)), rel=1e-12)
