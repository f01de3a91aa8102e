import pytest
import torch

from tqse.config import TrainConfig
from tqse.train.schedule import build_optimizer, lr_factor


@pytest.mark.parametrize("step,expected", [(0, 1 / 4000), (1999, 0.5), (3999, 1.0), (4000, 1.0), (164_000, 1.0),
                                           (173_999, 1.0), (174_000, 0.9), (184_000, 0.81), (400_000, 0.9 ** 23)])
def test_learning_rate_follows_the_papers_warm_up_constant_then_decay_schedule(step, expected):
    assert lr_factor(step, 4000, 160_000, 10_000, 0.9) == pytest.approx(expected)


def test_optimizer_is_adamw_with_weight_decay():
    optimizer, scheduler = build_optimizer(torch.nn.Linear(2, 2), TrainConfig())
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.param_groups[0]["weight_decay"] == 1e-2
    assert scheduler.get_last_lr()[0] == pytest.approx(2e-4 / 4000)
