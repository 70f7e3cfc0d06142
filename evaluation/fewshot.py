"""The few-shot benchmark (docs/benchmark.md): support draws, clip scores, AUC per category.

For every category c and seed s: ``shots`` clips of c drawn from the test subjects form the support
set; every other test clip is scored; AUC with label 1 = category != c (and, per pair, with only the
clips of c and of one other category d: how well c's support set tells c from d). With ``behaviours``
K > 1, normal is several things: c and K - 1 other categories drawn with the same seed each bring
``shots`` support clips as a behaviour of the profile, the clips of all K are normal and every other
category is abnormal; c's figures are the means over its draws (K = 1 is the protocol above, draw
for draw). On a clip set
filmed by several cameras (NW-UCLA) the protocol is cross-view: for every ordered pair of cameras
(a, b), support clips come from a and scored clips from b, and the figures are averaged over the
pairs (:func:`evaluate_cross_view`); its clips that name no camera are left out, and counted, and so
is a pair that cannot be scored (a camera with too few clips), with why. A clip's windows
are cut by ``models.preprocess.clip_to_windows`` (the rule enrolment uses too); a window's score is
the runtime's rule (:func:`models.scoring.behaviour_score`, or a candidate from
:mod:`evaluation.scoring_rules`) and a clip's score is the mean of its windows' scores.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from clips import ClipSet
from config.worker import MIN_SEGMENT_S
from edge.enroll import clip_error
from edge.segments import min_segment_frames
from evaluation.scoring_rules import RULES, Rule
from models.embedding import embed_all
from models.preprocess import ClipError, WindowSpec, clip_frames, cut_windows, normalise_windows
from training.datasets import load_dataset
from training.protocol import SPLITS, Split

if TYPE_CHECKING:
    from models.encoder import Encoder
    from training.train_encoder import Evaluator

log = logging.getLogger(__name__)

HARDEST_PAIRS = 10
# One clip's resampled frames (N, J, 3) -> the same frames as another sensor would deliver them.
Sensor = Callable[[np.ndarray], np.ndarray]


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count half); positive = anomalous."""
    pos, neg = scores[positive], scores[~positive]
    if pos.size == 0 or neg.size == 0:
        raise ValueError("AUC needs both positive and negative samples")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(order.size)
    allv = np.concatenate([pos, neg])[order]
    # average ranks over ties
    _, first, counts = np.unique(allv, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2) / (pos.size * neg.size))


def roc_curve(scores: np.ndarray, positive: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """True-positive rate at each false-positive rate in ``grid`` (step interpolation)."""
    thresholds = np.sort(np.unique(scores))[::-1]
    tpr = np.array([(scores[positive] >= t).mean() for t in thresholds])
    fpr = np.array([(scores[~positive] >= t).mean() for t in thresholds])
    fpr, tpr = np.concatenate([[0.0], fpr, [1.0]]), np.concatenate([[0.0], tpr, [1.0]])
    return np.interp(grid, fpr, tpr)


@dataclass(frozen=True)
class EvalWindows:
    """Windows of every scorable test clip; ``clip_of[w]`` is the clip of window w."""

    windows: np.ndarray  # (W, F, J, 3)
    clip_of: np.ndarray  # (W,)
    labels: tuple[str, ...]  # per clip
    names: tuple[str, ...]
    views: tuple[str, ...]  # per clip ("" for a one-camera set)
    skipped: int
    short: int  # scored clips with less skeleton than the live path ever scores (SHORT_CLIP)
    unlabelled: int  # test clips left out for want of a label: no category to be normal or an anomaly
    viewless: int = 0  # of a set filmed by several cameras, test clips naming none: no camera pair has them


# Why a clip was left out of the evaluation (ClipError from clip_frames).
NO_WINDOW = "no window could be cut (e.g. no frame with every joint finite)"
# Scored all the same (a benchmark keeps its clips), but said: such a clip is one window stretched
# from less motion than a camera's stream or an enrolment is ever scored from.
SHORT_CLIP = (
    f"under {MIN_SEGMENT_S:g} s of skeleton (worker.min_segment_s: live never scores, enrolment refuses, "
    "so little); each is stretched to one window and scored"
)


def unseen_categories(dataset: str) -> frozenset[str] | None:
    """The categories the encoder never trained on, as the benchmark's split of ``dataset`` says;
    None for a user's file: its split (``split_for``) tests the whole file, which says nothing of
    what the encoder saw (its categories may well be among those it trained on)."""
    return SPLITS[dataset].unseen_labels if dataset in SPLITS else None


def eval_windows(
    clipset: ClipSet, split: Split, spec: WindowSpec, sensor: Sensor | None = None
) -> EvalWindows:
    """Windows of the test subjects' clips; with ``sensor``, as that sensor would have delivered
    them (its errors drawn on each clip's resampled frames, before the clip is cut into windows)."""
    windows: list[np.ndarray] = []
    clip_of: list[np.ndarray] = []
    labels: list[str] = []
    names: list[str] = []
    views: list[str] = []
    skipped = short = unlabelled = viewless = 0
    first_skipped = ""  # why the first clip left out was: a joint never measured leaves every clip out
    need = min_segment_frames(spec, MIN_SEGMENT_S)
    cameras = {c.view for c in clipset.clips if c.subject in split.test_subjects} - {""}
    for c in clipset.clips:
        if c.subject not in split.test_subjects:
            continue
        if not c.label:
            unlabelled += 1
            continue
        if len(cameras) > 1 and not c.view:  # cross-view draws from one camera, scores another's
            viewless += 1
            continue
        try:
            frames = clip_frames(c.joints, c.times, spec)
        except ClipError as e:
            skipped += 1
            first_skipped = first_skipped or f"{c.name}: {clip_error(c.joints, e)}"
            continue
        short += len(frames) < need
        if sensor is not None:
            frames = sensor(frames)
        w = normalise_windows(cut_windows(frames, spec), spec)
        clip_of.append(np.full(len(w), len(labels)))
        windows.append(w)
        labels.append(c.label)
        names.append(c.name)
        views.append(c.view)
    if not windows and unlabelled:
        raise ValueError(
            f"{split.dataset}: no clip has a label; the few-shot benchmark scores clips by their category "
            "(labels); recordings labelled per frame go to haad eval stream --recordings"
        )
    if not windows:
        raise ValueError(
            f"no test clips for {split.dataset}: test subjects {sorted(split.test_subjects)}"
            + (f"; {skipped} clip(s) left out: {NO_WINDOW}; the first, {first_skipped}" if skipped else "")
        )  # fmt: skip
    return EvalWindows(
        np.concatenate(windows),
        np.concatenate(clip_of),
        tuple(labels),
        tuple(names),
        tuple(views),
        skipped,
        short,
        unlabelled,
        viewless,
    )


class CannotScore(ValueError):
    """The clips (of one camera pair, cross-view) are too few to score with these settings; says why."""


@dataclass
class MethodResult:
    per_category: dict[str, list[float]]  # label -> AUC per seed (cross-view: per pair it was normal in)
    roc_tpr: np.ndarray  # mean TPR over categories and seeds on ROC_GRID
    per_pair: dict[str, dict[str, list[float]]]  # normal label -> anomaly label -> AUC per seed
    # per draw (seed; cross-view: camera pair and seed), the mean AUC of the categories normal in it:
    # cross-view, a category may be normal from one camera only, so per_category's lists differ in length
    draw_means: list[float] = field(default_factory=list)
    # cross-view: the camera pairs ("a->b") that could not be scored, and why (in no figure)
    pairs_left_out: dict[str, str] = field(default_factory=dict)

    def pair_means(self) -> dict[str, dict[str, float]]:
        return {c: {d: float(np.mean(v)) for d, v in sorted(row.items())} for c, row in self.per_pair.items()}

    def hardest_pairs(self, n: int = HARDEST_PAIRS) -> list[dict[str, object]]:
        """The ``n`` (normal, anomaly) category pairs with the lowest mean pair AUC."""
        flat = [(auc, c, d) for c, row in self.pair_means().items() for d, auc in row.items()]
        return [{"normal": c, "anomaly": d, "auc": auc} for auc, c, d in sorted(flat)[:n]]

    def summary(self, unseen: frozenset[str] | None) -> dict[str, object]:
        """The means and per-category AUCs. ``unseen``: the categories the encoder never trained on;
        None when that is not known (a user's file), and then nothing is said of training."""
        cat_mean = {k: float(np.mean(v)) for k, v in self.per_category.items()}
        seen_keys = [k for k in cat_mean if unseen is not None and k not in unseen]
        unseen_keys = [k for k in cat_mean if unseen is not None and k in unseen]

        def mean_of(keys: list[str]) -> float | None:
            return float(np.mean([cat_mean[k] for k in keys])) if keys else None

        return {
            "all": mean_of(list(cat_mean)),
            "seen": mean_of(seen_keys),
            "unseen": mean_of(unseen_keys),
            "std_over_seeds": float(np.std(self.draw_means)) if len(self.draw_means) > 1 else 0.0,
            "mean_category_std": float(np.mean([np.std(v) for v in self.per_category.values()])),
            "hardest_pairs": self.hardest_pairs(),
            "per_category": {
                k: {
                    "auc": cat_mean[k],
                    "std": float(np.std(v)),
                    "unseen": None if unseen is None else k in unseen,
                }
                for k, v in sorted(self.per_category.items())
            },
        }


ROC_GRID = np.linspace(0.0, 1.0, 101)


def evaluate(
    tw: EvalWindows,
    embeddings: np.ndarray,
    *,
    shots: int,
    seeds: int,
    variant_embeddings: np.ndarray | None = None,
    support_view: str | None = None,
    query_view: str | None = None,
    behaviours: int = 1,
    rule: Rule = RULES["prototype"],
) -> MethodResult:
    """Run the protocol on precomputed window embeddings ``(W, D)``.

    ``behaviours``: how many categories are normal at once (module docstring); ``rule``: the scoring
    rule (:mod:`evaluation.scoring_rules`).

    ``variant_embeddings`` ``(W, N_g, D)``: embeddings of generated variants of every window; when
    given, each support window brings its variants (inference-time augmentation, Algorithm 2).
    ``support_view`` / ``query_view``: draw support clips only from that camera / score only that
    camera's clips (None: any).
    """
    labels = np.array(tw.labels)
    views = np.array(tw.views)
    n_clips = len(labels)
    window_rows = [np.flatnonzero(tw.clip_of == i) for i in range(n_clips)]
    supportable = np.ones(n_clips, bool) if support_view is None else views == support_view
    scored = np.ones(n_clips, bool) if query_view is None else views == query_view
    categories = sorted(set(tw.labels))
    drawable = [c for c in categories if ((labels == c) & supportable).sum() >= shots]
    where = f" from camera {support_view!r}" if support_view is not None else ""
    # fewer categories than --behaviours: no --shots or more clips of them would help, said first
    if (present := len(set(labels[scored]))) <= behaviours:
        # cross-view, one camera may lack categories the file has: name it, else "2 of the 2" misleads
        seen = (
            f" of camera {query_view!r} (scored against support from {support_view!r})" if query_view else ""
        )
        normal_at_once = (
            f"{behaviours} of the {present} categories of the scored clips{seen} are normal at once (--behaviours)"
            if behaviours == present
            else f"{behaviours} categories are normal at once (--behaviours), and the scored clips{seen} have "
            f"{present}"
        )
        raise CannotScore(
            f"{normal_at_once}: none is left to be an anomaly; the benchmark needs at least {behaviours + 1} "
            f"categories{' in every camera' if query_view else ''}"
        )
    if behaviours > len(drawable):
        sizes = sorted((int(((labels == c) & supportable).sum()) for c in categories), reverse=True)
        most = min(
            sizes[behaviours - 1] if len(sizes) >= behaviours else 0, _most_shots(labels, supportable, scored)
        )
        raise CannotScore(
            f"a support set of {shots} clips (--shots) of each of {behaviours} "
            f"{'category' if behaviours == 1 else 'categories'} (--behaviours) is needed, and only "
            f"{len(drawable)} {'category has' if len(drawable) == 1 else 'categories have'} {shots} clips{where}; "
            + _fewer_shots(most, support_view, query_view)
        )
    per_category: dict[str, list[float]] = {}
    per_pair: dict[str, dict[str, list[float]]] = {}
    tprs = []
    for ci, cat in enumerate(categories):
        normal = labels == cat
        members = np.flatnonzero(normal & supportable)
        # Support clips are never scored: where they may be queries too, they leave the normal ones.
        normal_queries = (normal & scored).sum() - (shots if (normal & scored & supportable).any() else 0)
        if len(members) < shots or normal_queries < 1:
            continue  # not enough clips to draw a support set and still score one normal clip
        companions = [c for c in drawable if c != cat]
        aucs = []
        for seed in range(seeds):
            rng = np.random.default_rng([seed, ci])
            drawn = [rng.choice(members, size=shots, replace=False)]
            normal_labels = [cat]
            for j in rng.choice(len(companions), size=behaviours - 1, replace=False):
                normal_labels.append(companions[j])
                drawn.append(
                    rng.choice(np.flatnonzero((labels == companions[j]) & supportable), shots, replace=False)
                )
            support = np.concatenate(drawn)
            clip_rows = [window_rows[i] for i in support]
            rows = np.concatenate(clip_rows)
            groups = np.concatenate([np.full(len(r), i) for i, r in zip(support, clip_rows, strict=True)])
            behaviour_of = np.repeat(
                np.arange(behaviours), [sum(len(window_rows[i]) for i in d) for d in drawn]
            )
            sup = embeddings[rows]
            if variant_embeddings is not None:
                n_g = variant_embeddings.shape[1]
                sup = np.concatenate([sup, variant_embeddings[rows].reshape(-1, sup.shape[1])])
                groups = np.concatenate([groups, np.repeat(groups, n_g)])
                behaviour_of = np.concatenate([behaviour_of, np.repeat(behaviour_of, n_g)])
            query = np.setdiff1d(np.flatnonzero(scored), support)
            window_scores = rule(embeddings, sup, behaviour_of, groups)
            clip_scores = np.array([window_scores[window_rows[i]].mean() for i in query])
            positive = ~np.isin(labels[query], normal_labels)
            aucs.append(roc_auc(clip_scores, positive))
            tprs.append(roc_curve(clip_scores, positive, ROC_GRID))
            pairs = per_pair.setdefault(cat, {})
            query_labels = labels[query]
            for other in np.unique(query_labels[positive]):
                both = ~positive | (query_labels == other)
                pairs.setdefault(str(other), []).append(roc_auc(clip_scores[both], positive[both]))
        per_category[cat] = aucs
    if not per_category:
        raise CannotScore(
            f"no category has more than {shots} test clips{where}: {shots} (--shots) to enrol and one to "
            f"score; {_fewer_shots(_most_shots(labels, supportable, scored), support_view, query_view)}"
        )
    draw_means = np.mean(list(per_category.values()), axis=0)  # (seeds,): every category has each seed
    return MethodResult(per_category, np.mean(tprs, axis=0), per_pair, draw_means.tolist())


def _most_shots(labels: np.ndarray, supportable: np.ndarray, scored: np.ndarray) -> int:
    """The most --shots with which some category can still be normal: its support set drawn from the
    ``supportable`` clips and at least one other of its clips left to score (0: none can be)."""
    most = 0
    for cat in np.unique(labels):
        support, queries = (labels == cat) & supportable, (labels == cat) & scored
        # a clip of the support set is never scored: where both may be one clip, one must be left over
        n = (
            min(support.sum(), queries.sum() - 1)
            if (support & queries).any()
            else support.sum() * queries.any()
        )
        most = max(most, int(n))
    return most


def _fewer_shots(most: int, support_view: str | None, query_view: str | None) -> str:
    """What to give instead: fewer --shots where some number works; else more clips (--shots is at
    least 1, and advising fewer of it sent a user with one clip per category round in a circle)."""
    if most >= 1:
        return f"give fewer --shots ({most} at most)"
    if support_view is not None and query_view is not None:
        return (
            f"a category needs at least 2 clips, one from camera {support_view!r} to enrol and one from "
            f"camera {query_view!r} to score"
        )
    return "a category needs at least 2 clips, one to enrol and one to score; record more of each"


def view_pairs(tw: EvalWindows) -> list[tuple[str, str]]:
    """Every ordered pair of distinct cameras of ``tw`` (none for a one-camera set)."""
    cams = sorted(set(tw.views) - {""})
    return [(a, b) for a in cams for b in cams if a != b] if len(cams) > 1 else []


def evaluate_cross_view(
    tw: EvalWindows,
    embeddings: np.ndarray,
    *,
    shots: int,
    seeds: int,
    variant_embeddings: np.ndarray | None = None,
    behaviours: int = 1,
    rule: Rule = RULES["prototype"],
) -> tuple[MethodResult, dict[str, float]]:
    """The protocol once per ordered camera pair (support from the first, queries from the second),
    merged so that every figure is the mean over the pairs scored; also each pair's all-category mean
    AUC. A pair whose clips are too few to score (a camera with few clips) is left out, with why
    (``pairs_left_out``, and a warning): one sparse camera leaves the others' figures standing.
    Raises :class:`CannotScore` when no pair can be scored."""
    merged = MethodResult({}, np.zeros_like(ROC_GRID), {})
    by_pair: dict[str, float] = {}
    scored: list[MethodResult] = []
    pairs = view_pairs(tw)
    for a, b in pairs:
        try:
            r = evaluate(
                tw, embeddings, shots=shots, seeds=seeds, variant_embeddings=variant_embeddings,
                support_view=a, query_view=b, behaviours=behaviours, rule=rule,
            )  # fmt: skip
        except CannotScore as e:
            merged.pairs_left_out[f"{a}->{b}"] = str(e)
            continue
        scored.append(r)
        by_pair[f"{a}->{b}"] = float(np.mean([np.mean(v) for v in r.per_category.values()]))
        for cat, aucs in r.per_category.items():
            merged.per_category.setdefault(cat, []).extend(aucs)
        for cat, row in r.per_pair.items():
            for other, aucs in row.items():
                merged.per_pair.setdefault(cat, {}).setdefault(other, []).extend(aucs)
        merged.draw_means += r.draw_means
    if not scored:
        raise CannotScore(
            f"none of the {len(pairs)} camera pairs (support camera->scored camera) can be scored: "
            + "; ".join(f"{p}: {why}" for p, why in merged.pairs_left_out.items())
        )
    if merged.pairs_left_out:
        log.warning(
            "%d of %d camera pairs (support camera->scored camera) left out, too few clips to score: %s",
            len(merged.pairs_left_out), len(pairs),
            "; ".join(f"{p}: {why}" for p, why in merged.pairs_left_out.items()),
        )  # fmt: skip
    for r in scored:
        merged.roc_tpr = merged.roc_tpr + r.roc_tpr / len(scored)
    return merged, by_pair


def evaluate_dataset(
    tw: EvalWindows,
    embeddings: np.ndarray,
    *,
    shots: int,
    seeds: int,
    variant_embeddings: np.ndarray | None = None,
    behaviours: int = 1,
    rule: Rule = RULES["prototype"],
) -> tuple[MethodResult, dict[str, float] | None]:
    """The protocol a clip set calls for: cross-view when it was filmed by several cameras (with each
    camera pair's mean AUC), else the one-camera protocol (None)."""
    if view_pairs(tw):
        return evaluate_cross_view(
            tw, embeddings, shots=shots, seeds=seeds, variant_embeddings=variant_embeddings,
            behaviours=behaviours, rule=rule,
        )  # fmt: skip
    one_camera = evaluate(
        tw, embeddings, shots=shots, seeds=seeds, variant_embeddings=variant_embeddings,
        behaviours=behaviours, rule=rule,
    )  # fmt: skip
    return one_camera, None


def training_evaluator(datasets: Sequence[str], data_root: str | None, seeds: int) -> Evaluator:
    """The benchmark figures (3 shots) a freshly trained encoder gets on each of its training
    datasets' test splits, for the checkpoint's metadata (``haad train encoder``); a clip-set file
    has no test split (every one of its people was trained on) and gets none."""

    def evaluate_encoder(encoder: Encoder, spec: WindowSpec) -> dict[str, Any]:
        from models.encoder import encoder_embed_fn

        out: dict[str, Any] = {}
        encoder.eval()
        for name in (d for d in datasets if d in SPLITS):
            split = SPLITS[name]
            tw = eval_windows(load_dataset(name, data_root), split, spec)
            emb = embed_all(encoder_embed_fn(encoder), tw.windows)
            s = evaluate_dataset(tw, emb, shots=3, seeds=seeds)[0].summary(split.unseen_labels)
            out[name] = {k: s[k] for k in ("all", "seen", "unseen", "std_over_seeds")}
        return out

    return evaluate_encoder
