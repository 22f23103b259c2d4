"""The optimisation loop: it lowers a loss, resumes exactly, stops early and keeps the best weights."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from winnow.errors import WinnowError  # noqa: E402
from winnow.train.trainer import TrainerConfig, fit  # noqa: E402

TARGET = torch.tensor([1.5, -2.0, 0.5])


def problem():
    """A linear regression onto TARGET from random inputs drawn with the loop's generator."""
    torch.manual_seed(0)
    network = torch.nn.Linear(3, 1, bias=False)

    def micro_loss(rng, step):
        x = torch.from_numpy(rng.normal(size=(8, 3))).float()
        loss = ((network(x).squeeze(-1) - x @ TARGET) ** 2).mean()
        return loss, {"step_seen": float(step)}

    return network, micro_loss


def config(**overrides) -> TrainerConfig:
    return TrainerConfig(**{**dict(steps=20, learning_rate=0.1, warmup=0.1, weight_decay=0.0), **overrides})


def test_training_lowers_the_loss_and_logs_the_learning_rate():
    network, micro_loss = problem()
    seen = []
    result = fit(network, config(accumulation=2), micro_loss, progress=lambda step, last: seen.append((step, last)))
    assert [h["step"] for h in result.history] == [10, 20]
    assert result.history[-1]["loss"] < result.history[0]["loss"] / 2
    assert result.history[0]["step_seen"] == pytest.approx(5.5)  # the mean step of the window
    assert result.history[-1]["lr"] == 0.0  # linear decay to zero
    assert [s for s, _ in seen] == list(range(1, 21)) and seen[-1][1]["loss"] == result.history[-1]["loss"]


def test_a_resumed_run_ends_where_the_uninterrupted_one_does(tmp_path):
    whole, loss_whole = problem()
    fit(whole, config(), loss_whole)
    killed, loss_killed = problem()

    def dies_in_step_12(rng, step):
        if step == 12:
            raise KeyboardInterrupt
        return loss_killed(rng, step)

    with pytest.raises(KeyboardInterrupt):
        fit(killed, config(checkpoint_every=5), dies_in_step_12, checkpoint_dir=tmp_path)
    resumed, loss_resumed = problem()
    result = fit(resumed, config(checkpoint_every=5), loss_resumed, checkpoint_dir=tmp_path, resume=True)
    assert result.resumed_from == 10
    torch.testing.assert_close(resumed.weight, whole.weight)
    assert [h["step"] for h in result.history] == [10, 20]


def test_early_stop_keeps_the_best_weights():
    network, micro_loss = problem()
    scores = iter([0.1, 0.5, 0.4, 0.3, 0.2, 0.9])
    snapshots = []

    def evaluate():
        snapshots.append(network.weight.detach().clone())
        return next(scores)

    result = fit(network, config(eval_every=2, patience=3), micro_loss, evaluate)
    assert [e["step"] for e in result.evaluations] == [0, 2, 4, 6, 8]
    assert result.stopped_early and result.best_step == 2 and result.best_score == 0.5
    torch.testing.assert_close(network.weight, snapshots[1])


def test_keep_best_off_ends_with_the_last_weights_and_still_reports_the_best():
    network, micro_loss = problem()
    scores = iter([0.1, 0.5, 0.4, 0.3])
    result = fit(network, config(steps=6, eval_every=2, keep_best=False), micro_loss, lambda: next(scores))
    last = network.weight.detach().clone()
    assert result.best_step == 2 and [e["step"] for e in result.evaluations] == [0, 2, 4, 6]
    again, micro_loss = problem()
    fit(again, config(steps=6), micro_loss)  # the same batches, no evaluations
    torch.testing.assert_close(last, again.weight.detach())


def test_the_time_limit_stops_after_the_step_that_spends_it_and_evaluates_there():
    import time

    network, micro_loss = problem()

    def slow_loss(rng, step):
        if step == 3:
            time.sleep(0.3)
        return micro_loss(rng, step)

    result = fit(network, config(eval_every=10, time_limit=0.2), slow_loss, lambda: 1.0)
    assert result.stopped_at_time_limit and not result.stopped_early and result.steps_done == 3
    assert [e["step"] for e in result.evaluations] == [0, 3]
    assert [h["step"] for h in result.history] == [3]  # the partial logging window is kept


@pytest.mark.parametrize("overrides, message", [
    ({"steps": 0}, "steps must be at least 1"),
    ({"time_limit": -1}, "time_limit must be >= 0"),
    ({"warmup": 1.0}, "warmup in"),
    ({"patience": -1}, "patience must be >= 0"),
    ({"device": "tpu"}, "device must be"),
])
def test_bad_settings_are_refused(overrides, message):
    with pytest.raises(WinnowError, match=message):
        config(**overrides)
