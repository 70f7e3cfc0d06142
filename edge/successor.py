"""Who a renumbered person is now: the one newcomer plainly standing where they were, or nobody.

A frontend that numbers people from 1 again (a new daemon, a new `haad frontend run`) gives the worker
no id to carry a tracked person's open alert across; only where people are in the image does. The
old person's place is their episode's box (the union of their boxes over the episode's windows: what
the worker keeps, also in the outbox and the alert log); a newcomer's is their first box of the new
run. A newcomer takes the alert on only when the match cannot be anybody else's: handing someone
else's action to an alert is worse than splitting one.

Measured on vtest.avi's frontend frames (evaluation/data/vtest_skeletons.npz, 3-8 walkers; restarts
simulated every 0.5 s, the old box a union over 3 s, the new one a single frame's;
docs/experiments/2026-12-07-renumbered-hand-on.md): with ``SAME_PLACE_IOU`` 0.5 and no overlap
allowed to anybody else, 0 of 1087 / 1078 / 1062 old people were handed to another person present
after a 0.5 / 1 / 2 s restart (1 of 1010 after 5 s; at IoU 0.3, 2 of 1062 after 2 s). Walkers
mostly leave their old box within a restart, so they are split as before (13-14 % handed on); a
person acting in place is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bus.messages import Box
from pose_frontend.tracking import box_iou

SAME_PLACE_IOU = 0.5


def successor(
    place: Box, others_then: Iterable[Box | None], newcomers: Mapping[int, Box | None]
) -> int | None:
    """The newcomer (person id -> first box) who is the person last seen at ``place``, or None: the
    only newcomer whose box overlaps ``place`` at all, overlapping it by ``SAME_PLACE_IOU`` (IoU;
    boxes as image fractions, which IoU does not mind), whose box overlaps none of ``others_then``
    (the other people of the old run, where they were last seen). A box not known (None) could be
    anywhere: nobody is handed on then."""
    others = list(others_then)
    if any(b is None for b in newcomers.values()) or any(b is None for b in others):
        return None
    near = [p for p, b in newcomers.items() if b is not None and box_iou(place, b) > 0.0]
    if len(near) != 1:
        return None
    first = newcomers[near[0]]
    assert first is not None
    if box_iou(place, first) < SAME_PLACE_IOU:
        return None
    if any(b is not None and box_iou(b, first) > 0.0 for b in others):
        return None
    return near[0]
