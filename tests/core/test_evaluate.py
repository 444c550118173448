import pytest
import torch

from graphdistill.core.evaluate import RunScore, Summary, TrainConfig, fit_select_on_val, repeat_runs


def test_selection_uses_validation_never_test():
    model = torch.nn.Linear(1, 1)
    vals = iter([0.1, 0.9, 0.5, 0.2])
    tests = iter([0.3, 0.4, 0.99, 0.1])  # the best test epoch (2) must not be chosen

    def score(_):
        return {"val": next(vals), "test": next(tests)}

    best_epoch, best, curves = fit_select_on_val(
        model, lambda m: m(torch.ones(1, 1)).sum() ** 2, score, TrainConfig(epochs=4, lr_decay_at=None))
    assert best_epoch == 1 and best["test"] == 0.4
    assert curves["val"] == [0.1, 0.9, 0.5, 0.2]


def test_model_ends_with_best_validation_weights():
    model = torch.nn.Linear(1, 1, bias=False)
    seen = []

    def score(m):
        seen.append(m.weight.detach().clone())
        return {"val": [0.0, 1.0, 0.5][len(seen) - 1]}

    fit_select_on_val(model, lambda m: (m(torch.ones(1, 1)) - 5).pow(2).sum(), score,
                      TrainConfig(epochs=3, lr=0.5, weight_decay=0.0))
    assert torch.equal(model.weight, seen[1])


def test_population_std_and_resume_identity():
    def run_once(seed):
        g = torch.Generator().manual_seed(seed)
        return RunScore(seed=seed, val=0.0, test=float(torch.rand(1, generator=g)), best_epoch=0, seconds=0)

    full = repeat_runs(run_once, 4, seed=7)
    saved = []
    part = repeat_runs(run_once, 2, seed=7, on_run_done=lambda s: saved.append(len(s)))
    resumed = repeat_runs(run_once, 4, seed=7, done=part.runs)
    assert saved == [1, 2]
    assert [r.test for r in resumed.runs] == [r.test for r in full.runs]
    s = Summary([RunScore(0, 0, t, 0, 0) for t in (0.7, 0.8, 0.9)])
    assert s.test_mean == pytest.approx(0.8) and s.test_std == pytest.approx((2 / 3) ** 0.5 * 0.1)


def test_gcond_schedule_restarts_adam_at_half_with_a_tenth_of_the_lr():
    built = []

    class Spy(TrainConfig):
        def optimizer(self, model, lr):
            built.append(lr)
            return super().optimizer(model, lr)

    model = torch.nn.Linear(2, 1)
    fit_select_on_val(model, lambda m: m(torch.ones(1, 2)).sum() ** 2, lambda m: {"val": 0.0}, Spy(epochs=10))
    assert built == [0.01, pytest.approx(0.001)]


@pytest.mark.parametrize("kwargs", [{"epochs": 0}, {"epochs": 2.5}, {"lr": -1.0}, {"lr_decay_at": 1.5}])
def test_train_config_rejects_bad_values(kwargs):
    from graphdistill.core.errors import UserError

    with pytest.raises(UserError):
        TrainConfig(**kwargs)
