"""tc.nn.Module and Parameter: registration, traversal, modes, state_dict, to(), repr; default
initialisation statistics; layer argument and input errors."""
import math
import pickle

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn
from tensorcore.errors import ShapeError


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU())
        self.head = nn.Linear(8, 3)
        self.scale = nn.Parameter(tc.ones(1))
        self.register_buffer("steps", tc.zeros(1))
        self.register_buffer("scratch", tc.zeros(2), persistent=False)
        self.not_a_param = tc.ones(2)

    def forward(self, x):
        return self.head(self.features(x).flatten(1)[:, :8]) * self.scale


def test_registration_and_traversal_order():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "features.0.weight", "features.0.bias", "features.1.weight",
                     "features.1.bias", "head.weight", "head.bias"]
    assert len(list(net.parameters())) == 7
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in net.named_children()] == ["features", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "features", "features.0", "features.1",
                                                   "features.2", "head"]
    assert [n for n, _ in net.named_buffers()] == [
        "steps", "scratch", "features.1.running_mean", "features.1.running_var",
        "features.1.num_batches_tracked"]
    assert list(net.state_dict()) == [
        "scale", "steps", "features.0.weight", "features.0.bias", "features.1.weight",
        "features.1.bias", "features.1.running_mean", "features.1.running_var",
        "features.1.num_batches_tracked", "head.weight", "head.bias"]


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2


def test_setattr_rules():
    net = Net()
    with pytest.raises(TypeError, match="parameter 'scale'"):
        net.scale = tc.ones(1)
    net.scale = None
    assert net.scale is None and "scale" not in dict(net.named_parameters())
    net.head = nn.Linear(8, 4)
    assert net.head.out_features == 4
    del net.head
    assert not hasattr(net, "head")

    class Forgot(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)
    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Forgot()
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        net.missing


def test_train_eval_zero_grad_and_requires_grad():
    net = Net()
    assert net.training and net.features[1].training
    net.eval()
    assert not net.training and not net.features[1].training
    net.train()
    assert net.head.training
    out = net(tc.randn(2, 1, 4, 6))
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.head.requires_grad_(False)      # freezing: frozen weights get no gradient
    net(tc.randn(2, 1, 4, 6)).sum().backward()
    assert net.head.weight.grad is None and net.features[0].weight.grad is not None


def test_apply_visits_children_first():
    seen = []
    Net().apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Conv2d", "BatchNorm2d", "ReLU", "Sequential", "Linear", "Net"]


def test_to_dtype_keeps_parameter_identity_and_integer_buffers():
    net = Net()
    weight = net.head.weight
    assert net.double() is net
    assert net.head.weight is weight and weight.dtype == np.float64
    assert net.features[1].num_batches_tracked.dtype == np.int64
    assert net.features[1].running_mean.dtype == np.float64
    out = net(tc.randn(2, 1, 4, 6, dtype="float64"))
    assert out.dtype == np.float64
    net.to("float32")
    assert weight.dtype == np.float32
    net.to("cpu")
    with pytest.raises(TypeError, match="floating-point"):
        net.to(tc.int64)
    with pytest.raises(TypeError):
        net.to(device="cpu", non_blocking=True)


def test_state_dict_round_trip_and_sharing():
    tc.manual_seed(0)
    a, b = Net(), Net()
    a.features[1](tc.randn(4, 2, 3, 3))             # move the running statistics
    x = tc.randn(2, 1, 4, 6)
    a.eval(), b.eval()
    assert not np.allclose(a(x).numpy(), b(x).numpy())
    sd = a.state_dict()
    assert not sd["head.weight"].requires_grad
    assert b.load_state_dict(sd) == ([], [])
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    # loading copies into the existing parameters (optimizers keep their references)
    weight = b.head.weight
    b.load_state_dict(Net().state_dict())
    assert b.head.weight is weight
    # values may be numpy arrays too
    b.load_state_dict({k: v.numpy() for k, v in sd.items()})
    np.testing.assert_array_equal(b.head.weight.numpy(), a.head.weight.numpy())


def test_load_state_dict_errors():
    model = nn.Sequential(nn.Linear(5, 10), nn.ReLU(), nn.Linear(10, 2))
    sd = model.state_dict()
    bad = dict(sd)
    bad["0.weight"] = tc.zeros(5, 10)
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: expected \(10, 5\), "
                                           r"received \(5, 10\)"):
        model.load_state_dict(bad)
    partial = {k: v for k, v in sd.items() if k != "2.bias"}
    partial["extra.weight"] = tc.zeros(1)
    with pytest.raises(RuntimeError) as err:
        model.load_state_dict(partial)
    assert 'Missing key(s) in state_dict: "2.bias"' in str(err.value)
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in str(err.value)
    result = model.load_state_dict(partial, strict=False)
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == ["extra.weight"]
    with pytest.raises(RuntimeError, match="size mismatch"):
        model.load_state_dict(bad, strict=False)


def test_repr_like_torch():
    model = nn.Sequential(nn.Linear(5, 10), nn.ReLU(), nn.Dropout(0.2),
                          nn.Sequential(nn.Conv2d(1, 2, 3, bias=False)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=5, out_features=10, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Dropout(p=0.2, inplace=False)\n"
        "  (3): Sequential(\n"
        "    (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), bias=False)\n"
        "  )\n"
        ")")
    assert repr(nn.Parameter(tc.ones(1))).startswith("Parameter containing:\ntensor(")


def test_sequential_and_module_list():
    layers = [nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)]
    model = nn.Sequential(*layers)
    assert len(model) == 3 and model[-1] is layers[2] and list(model) == layers
    assert isinstance(model[:2], nn.Sequential) and len(model[:2]) == 2
    model.append(nn.Sigmoid())
    assert len(model) == 4 and [n for n, _ in model.named_children()][-1] == "3"
    out = model(tc.randn(5, 3))
    assert out.shape == (5, 2) and float(out.min()) > 0
    with pytest.raises(IndexError, match="out of range"):
        model[4]
    blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    blocks.append(nn.Linear(2, 1))
    assert len(list(blocks.parameters())) == 8 and len(blocks) == 4
    from collections import OrderedDict
    named = nn.Sequential(OrderedDict(fc=nn.Linear(2, 2), act=nn.Tanh()))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"]


def relu_input_shape(run):
    """The shape of the first array the relu kernel received while ``run()`` ran."""
    with tc.kernels.profile() as profile:
        run()
    return profile.ops["relu"]["args"][0].shape


@pytest.mark.parametrize("pool", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_sequential_pools_before_relu_with_the_same_values_and_gradients(pool):
    # integer values: windows with ties among positive values and windows with none positive,
    # where the two orders could pick different elements
    rng = np.random.default_rng(3)
    values = np.round(rng.standard_normal((3, 2, 9, 7)) * 2).astype(np.float32)
    grad = rng.standard_normal(nn.MaxPool2d(**pool)(tc.tensor(values)).shape).astype(np.float32)
    model = nn.Sequential(nn.ReLU(), nn.MaxPool2d(**pool))
    results = []
    for forward in (model, lambda x: nn.functional.max_pool2d(nn.functional.relu(x), **pool)):
        x = tc.tensor(values, requires_grad=True)
        y = forward(x)
        y.backward(tc.tensor(grad))
        results.append((y.numpy(), x.grad.numpy()))
    (y, dx), (y_expected, dx_expected) = results
    np.testing.assert_array_equal(y, y_expected)
    np.testing.assert_array_equal(dx, dx_expected)
    assert relu_input_shape(lambda: model(tc.tensor(values))) == y.shape


def test_sequential_keeps_an_in_place_relu_before_a_pool_in_order():
    x = tc.tensor(np.random.default_rng(4).standard_normal((2, 3, 6, 6)).astype(np.float32))
    expected = np.maximum(x.numpy(), 0)
    nn.Sequential(nn.ReLU(inplace=True), nn.MaxPool2d(2))(x)
    np.testing.assert_array_equal(x.numpy(), expected)      # written into, as PyTorch does
    model = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2, return_indices=True))
    assert relu_input_shape(lambda: model(x)) == x.shape


def test_parameter_shares_storage_and_pickles():
    data = tc.randn(3)
    p = nn.Parameter(data)
    assert p.requires_grad and p.is_leaf and np.shares_memory(p.numpy(), data.numpy())
    assert isinstance(p, tc.Tensor) and type(p * 2) is tc.Tensor
    assert not nn.Parameter(data, requires_grad=False).requires_grad
    q = pickle.loads(pickle.dumps(p))
    assert isinstance(q, nn.Parameter) and q.requires_grad
    np.testing.assert_array_equal(q.numpy(), p.numpy())
    model = pickle.loads(pickle.dumps(nn.Sequential(nn.Linear(2, 3))))
    assert model(tc.randn(1, 2)).shape == (1, 3)


# ---- initialisation ----------------------------------------------------------------------

@pytest.mark.parametrize("make,fan_in", [
    (lambda: nn.Linear(200, 150), 200),
    (lambda: nn.Conv2d(6, 40, (3, 5), groups=2), 3 * 15),
])
def test_kaiming_uniform_default_init(make, fan_in):
    tc.manual_seed(1)
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    for values in (layer.weight.numpy(), layer.bias.numpy()):
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.9 * bound               # fills the interval
    w = layer.weight.numpy()
    assert abs(w.mean()) < 0.05 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)     # uniform's std


def test_recurrent_embedding_and_batchnorm_init():
    tc.manual_seed(2)
    for layer in (nn.LSTM(10, 64, num_layers=2), nn.LSTMCell(10, 64)):
        for name, p in layer.named_parameters():
            values = p.numpy()
            assert np.abs(values).max() <= 1 / 8, name
            assert np.abs(values).max() > 0.9 / 8, name
    emb = nn.Embedding(300, 50, padding_idx=3).weight.numpy()
    assert emb.std() == pytest.approx(1.0, rel=0.05) and abs(emb.mean()) < 0.05
    assert not emb[3].any()
    bn = nn.BatchNorm1d(4)
    np.testing.assert_array_equal(bn.weight.numpy(), np.ones(4))
    np.testing.assert_array_equal(bn.bias.numpy(), np.zeros(4))
    np.testing.assert_array_equal(bn.running_var.numpy(), np.ones(4))


def test_manual_seed_makes_init_reproducible():
    tc.manual_seed(5)
    a = nn.Linear(4, 3)
    tc.manual_seed(5)
    b = nn.Linear(4, 3)
    c = nn.Linear(4, 3)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    assert not np.array_equal(b.weight.numpy(), c.weight.numpy())


def test_init_functions():
    tc.manual_seed(3)
    w = tc.empty(300, 200)
    nn.init.xavier_uniform_(w, gain=2.0)
    bound = 2.0 * math.sqrt(6 / 500)
    assert np.abs(w.numpy()).max() <= bound and np.abs(w.numpy()).max() > 0.95 * bound
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 200), rel=0.05)
    nn.init.normal_(w, 1.0, 0.5)
    assert w.numpy().mean() == pytest.approx(1.0, abs=0.01)
    nn.init.orthogonal_(w)
    np.testing.assert_allclose(w.numpy().T @ w.numpy(), np.eye(200), atol=1e-5)
    nn.init.constant_(w, 0.25)
    assert (w.numpy() == 0.25).all()
    assert nn.init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.init.calculate_gain("swish")
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        nn.init.xavier_uniform_(tc.empty(3))


# ---- errors --------------------------------------------------------------------------------

def test_layer_input_errors():
    with pytest.raises(ShapeError, match=r"Linear: expected input with last dimension 5, "
                                         r"received shape \(3, 4\)"):
        nn.Linear(5, 2)(tc.randn(3, 4))
    with pytest.raises(ShapeError, match=r"Conv2d: expected input of shape \(N, 3, H, W\)"):
        nn.Conv2d(3, 2, 3)(tc.randn(2, 4, 8, 8))
    with pytest.raises(ShapeError, match=r"BatchNorm2d: expected input of shape \(N, C, H, W\) "
                                         r"with C = 3, received shape \(2, 4, 5, 5\)"):
        nn.BatchNorm2d(3)(tc.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(tc.randn(1, 3))
    with pytest.raises(ShapeError, match="LSTM: expected input of shape"):
        nn.LSTM(3, 4)(tc.randn(5, 2, 2))
    with pytest.raises(ShapeError, match=r"expected h0 of shape \(2, 2, 4\)"):
        nn.LSTM(3, 4, num_layers=2)(tc.randn(5, 2, 3), (tc.zeros(1, 2, 4), tc.zeros(1, 2, 4)))
    with pytest.raises(ShapeError, match="LSTMCell: expected input"):
        nn.LSTMCell(3, 4)(tc.randn(2, 5))
    with pytest.raises(TypeError, match="integer indices"):
        nn.Embedding(5, 2)(tc.tensor([0.0, 1.0]))
    with pytest.raises(IndexError, match=r"indices must be in \[0, 5\)"):
        nn.Embedding(5, 2)(tc.tensor([0, 5]))


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="'same'"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="at least 1"):
        nn.Linear(0, 3)
    with pytest.raises(TypeError):
        nn.Linear(3, 4, bais=False)
    with pytest.raises(NotImplementedError, match="bidirectional"):
        nn.LSTM(3, 4, bidirectional=True)
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nn.Dropout(1.5)


def test_dropout_module_follows_training_mode():
    tc.manual_seed(0)
    layer = nn.Dropout(0.5)
    x = tc.ones(1000)
    y = layer(x).numpy()
    assert set(np.unique(y)) == {0.0, 2.0}
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())


def test_embedding_from_pretrained_is_frozen():
    table = tc.randn(4, 2)
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(tc.tensor([3, 1])).numpy(), table.numpy()[[3, 1]])


def test_train_and_eval_go_through_each_childs_train():
    """As PyTorch: a child's train() override (a frozen BatchNorm) runs when its parent's
    train() does; it was bypassed, so the frozen statistics kept updating."""
    class FrozenNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.BatchNorm1d(2)

        def train(self, mode=True):
            super().train(mode)
            self.norm.eval()
            return self

        def forward(self, x):
            return self.norm(x)

    model = nn.Sequential(FrozenNorm(), nn.Linear(2, 2))
    model.eval()
    model.train()
    assert model.training and model[1].training and not model[0].norm.training
    model(tc.tensor(np.arange(6.0, dtype=np.float32).reshape(3, 2)))
    assert model[0].norm.running_mean.tolist() == [0.0, 0.0]


def test_a_sequential_slice_keeps_its_childrens_names():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 3), nn.Linear(3, 1))
    tail = model[2:]
    assert list(tail.state_dict()) == ["2.weight", "2.bias", "3.weight", "3.bias"]
    assert tail[0] is model[2] and len(tail) == 2


def test_register_buffer_refuses_a_name_already_taken():
    """As PyTorch: it silently replaced a parameter, submodule or plain attribute."""
    layer = nn.Linear(2, 3)
    layer.scale = 2.0
    for name in ("weight", "scale"):
        with pytest.raises(KeyError, match=f"attribute '{name}' already exists"):
            layer.register_buffer(name, tc.zeros(3))
    assert isinstance(layer.weight, nn.Parameter) and layer.scale == 2.0
    layer.register_buffer("stats", tc.zeros(3))
    layer.register_buffer("stats", tc.ones(3))             # a buffer may be registered again
    assert layer.stats.tolist() == [1.0, 1.0, 1.0]
