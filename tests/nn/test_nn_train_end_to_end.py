"""Whole-program checks: small networks learn toy problems with the full training loop
(layers, loss, optimizer, scheduler, clipping, checkpoint)."""
import numpy as np

import minigrad as mg
from minigrad import nn, optim


def two_moons(n, seed):
    """Two interleaved half circles with noise: not linearly separable."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    x = np.where(label[:, None] == 0,
                 np.stack([np.cos(angle), np.sin(angle)], 1),
                 np.stack([1 - np.cos(angle), 0.5 - np.sin(angle)], 1))
    x += rng.normal(0, 0.1, size=x.shape)
    return x.astype(np.float32), label.astype(np.int64)


def accuracy(model, x, y):
    with mg.no_grad():
        return float((model(mg.tensor(x)).argmax(1).numpy() == y).mean())


def test_mlp_learns_two_moons_and_resumes_from_a_checkpoint(tmp_path):
    mg.manual_seed(0)
    x, y = two_moons(256, 1)
    x_test, y_test = two_moons(256, 2)
    model = nn.Sequential(nn.Linear(2, 32), nn.LayerNorm(32), nn.Tanh(), nn.Dropout(0.1),
                          nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = optim.AdamW(model.parameters(), lr=0.02, weight_decay=1e-4)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=300)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    assert accuracy(model.eval(), x_test, y_test) < 0.8
    losses = []
    model.train()
    for step in range(150):
        batch = np.random.default_rng(step).integers(0, len(x), 64)
        opt.zero_grad()
        loss = loss_fn(model(mg.tensor(x[batch])), mg.tensor(y[batch]))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])
    assert accuracy(model.eval(), x_test, y_test) > 0.95

    # a checkpoint of everything restores a model that predicts the same
    path = tmp_path / "moons.safetensors"
    mg.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "rng": mg.get_rng_state(), "step": 150}, path)
    ckpt = mg.load(path)
    clone = nn.Sequential(nn.Linear(2, 32), nn.LayerNorm(32), nn.Tanh(), nn.Dropout(0.1),
                          nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2)).eval()
    clone.load_state_dict(ckpt["model"])
    with mg.no_grad():
        np.testing.assert_array_equal(clone(mg.tensor(x_test)).numpy(),
                                      model(mg.tensor(x_test)).numpy())
    assert ckpt["scheduler"]["last_epoch"] == 150 and ckpt["step"] == 150


def test_embedding_classifier_learns_token_parity():
    """Embedding + mean pooling + Linear: classify whether token 3 appears in a sequence."""
    mg.manual_seed(1)
    rng = np.random.default_rng(3)
    tokens = rng.integers(0, 8, size=(200, 6)).astype(np.int64)
    tokens[tokens == 0] = 1
    tokens[:, -1] = 0  # trailing padding
    label = (tokens == 3).any(1).astype(np.int64)
    emb = nn.Embedding(8, 16, padding_idx=0)
    head = nn.Sequential(nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 2))
    opt = optim.Adam(list(emb.parameters()) + list(head.parameters()), lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        logits = head(emb(mg.tensor(tokens)).mean(1))
        loss = nn.functional.cross_entropy(logits, mg.tensor(label))
        loss.backward()
        opt.step()
    with mg.no_grad():
        pred = head(emb(mg.tensor(tokens)).mean(1)).argmax(1).numpy()
    assert (pred == label).mean() > 0.95
    assert not np.any(emb.weight.detach().numpy()[0])  # the padding row never learned
