"""Restart bookkeeping shared by haad run's children, a frontend host's streams and packed cameras."""

from __future__ import annotations

from bus.lifetime import Restarts
from config.supervisor import SupervisorConfig


def test_the_wait_doubles_per_failure_up_to_the_most_and_starts_over_once_stable() -> None:
    r = Restarts(SupervisorConfig(initial_backoff_s=1, max_backoff_s=5, give_up_after=100, stable_after_s=30))
    assert [r.failed(float(t)) for t in range(5)] == [1, 2, 4, 5, 5]
    r.running(started_at=10, now=39)  # not yet stable
    assert r.failed(40) == 5
    r.running(started_at=40, now=70)
    assert r.failed(71) == 1 and r.count == 7


def test_a_child_failing_too_often_too_fast_is_given_up_unless_it_may_not_be() -> None:
    policy = SupervisorConfig(give_up_after=3, give_up_window_s=60)
    r = Restarts(policy)
    assert r.failed(0) is not None and r.failed(70) is not None and r.failed(100) is not None
    assert r.failed(120) is None  # 70, 100 and 120: three failures within 60 s
    service = Restarts(policy)
    assert all(service.failed(float(t), may_give_up=False) is not None for t in range(10))
