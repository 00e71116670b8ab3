"""Arena table: Bradley–Terry ratings from blind A/B preferences, and mean ratings per dimension, per model.

A "model" is what answered: the LLM's served name when the LLM step ran, else the retrieval
method. Bradley–Terry strengths are fitted by Hunter's MM iterations (ties count half a win to
each side; every compared pair gets half a pseudo-win each way, so an undefeated model has a
finite rating) and shown on the Elo scale, 1000 + 400·log10(strength), as LMSYS's Chatbot Arena
reports them. 95 % intervals: percentiles of 1,000 bootstrap resamples of the comparisons
(seeded, so an export is reproducible). Dimension means carry a Student-t 95 % interval. Pure
Python: a handful of models, and api/ uses no numerical libraries (tests/test_layering.py).
"""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from raregraph.api.feedback.models import RATING_DIMENSIONS

if TYPE_CHECKING:
    from raregraph.api.feedback.store import FeedbackStore, StoredFeedback

__all__ = ["bradley_terry", "arena_table", "t_quantile_975", "BOOTSTRAP_ROUNDS"]

BOOTSTRAP_ROUNDS = 1000
_PSEUDO = 0.5
_SEED = 20240426
_T_TABLE = {3: 3.1824, 4: 2.7764}
Game = tuple[int, int, int]  # (winner, loser, tie flag)


def bradley_terry(n_models: int, games: Sequence[Game], *, iterations: int = 200) -> list[float]:
    """Strengths (geometric mean 1) from (winner, loser, tie) games; pure Python: a handful of models.

    Cost: O(games + iterations · n_models²).
    """
    wins = [[0.0] * n_models for _ in range(n_models)]
    for winner, loser, tie in games:
        if tie:
            wins[winner][loser] += 0.5
            wins[loser][winner] += 0.5
        else:
            wins[winner][loser] += 1.0
    pairs = [(i, j) for i in range(n_models) for j in range(n_models) if i != j and wins[i][j] + wins[j][i] > 0]
    for i, j in pairs:
        wins[i][j] += _PSEUDO
    played = [[wins[i][j] + wins[j][i] for j in range(n_models)] for i in range(n_models)]
    total = [sum(row) for row in wins]
    p = [1.0] * n_models
    for _ in range(iterations):
        new = []
        for i in range(n_models):
            denom = sum(played[i][j] / (p[i] + p[j]) for j in range(n_models) if j != i and played[i][j])
            new.append(max(total[i] / denom, 1e-12) if denom > 0 else 1.0)
        mean_log = sum(math.log(x) for x in new) / n_models
        new = [x / math.exp(mean_log) for x in new]
        done = all(abs(a - b) <= 1e-10 * b for a, b in zip(new, p, strict=True))
        p = new
        if done:
            break
    return p


def _elo(strength: Sequence[float]) -> list[float]:
    return [1000.0 + 400.0 * math.log10(x) for x in strength]


def t_quantile_975(df: int) -> float:
    """Student-t 97.5 % quantile: exact for 1 and 2 degrees of freedom, tabled for 3 and 4, Cornish–Fisher
    beyond (error < 0.003 against scipy.stats.t).

    >>> round(t_quantile_975(1), 3), round(t_quantile_975(2), 3), round(t_quantile_975(10), 2)
    (12.706, 4.303, 2.23)
    """
    if df == 1:
        return math.tan(math.pi * 0.475)
    if df == 2:
        return 0.95 / math.sqrt(2 * 0.975 * 0.025)
    if df in _T_TABLE:
        return _T_TABLE[df]
    z = statistics.NormalDist().inv_cdf(0.975)
    return (z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))


def _mean_ci(values: Sequence[int]) -> dict[str, Any]:
    n = len(values)
    mean = statistics.fmean(values) if n else None
    if n < 2 or mean is None:
        return {"n": n, "mean": mean, "ci95": None}
    half = t_quantile_975(n - 1) * statistics.stdev(values) / math.sqrt(n)
    return {"n": n, "mean": round(mean, 4), "ci95": [round(mean - half, 4), round(mean + half, 4)]}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def arena_table(verdicts: Sequence[StoredFeedback], store: FeedbackStore) -> dict[str, Any]:
    """Per-model rating table (JSON-ready), best first; models only rated, never compared, come last."""
    live = [v for v in verdicts if not v.withdrawn]
    others = store.responses([v.other_response_id for v in live if v.other_response_id])
    name_of = {v.response_id: v.model or v.method for v in live}
    name_of.update({r.id: r.model or r.method for r in others.values()})
    names = sorted(set(name_of.values()))
    index = {n: i for i, n in enumerate(names)}
    games: list[tuple[int, int, int]] = []
    record: dict[str, dict[str, int]] = defaultdict(lambda: {"wins": 0, "losses": 0, "ties": 0})
    for v in live:
        if v.preferred is None or v.other_response_id not in name_of:
            continue
        a, b = name_of[v.response_id], name_of[v.other_response_id or ""]
        if a == b:
            continue  # two answers of the same model say nothing about its rating
        if v.preferred == "tie":
            games.append((index[a], index[b], 1))
            record[a]["ties"] += 1
            record[b]["ties"] += 1
        else:
            winner, loser = (a, b) if v.preferred == "A" else (b, a)
            games.append((index[winner], index[loser], 0))
            record[winner]["wins"] += 1
            record[loser]["losses"] += 1
    ratings: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for v in live:
        for dimension, value in v.ratings.items():
            ratings[v.model or v.method][dimension].append(value)

    elo: dict[str, float] = {}
    ci: dict[str, list[float]] = {}
    if games:
        fitted = _elo(bradley_terry(len(names), games))
        rng = random.Random(_SEED)
        samples = [_elo(bradley_terry(len(names), rng.choices(games, k=len(games)))) for _ in range(BOOTSTRAP_ROUNDS)]
        for n in record:
            i = index[n]
            column = [sample[i] for sample in samples]
            elo[n] = round(fitted[i], 1)
            ci[n] = [round(_percentile(column, 2.5), 1), round(_percentile(column, 97.5), 1)]
    rows = []
    for n in names:
        games_of = record.get(n, {"wins": 0, "losses": 0, "ties": 0})
        rows.append({
            "model": n, "comparisons": sum(games_of.values()), **games_of,
            "rating": elo.get(n), "ci95": ci.get(n),
            "dimensions": {d: _mean_ci(ratings[n][d]) for d in RATING_DIMENSIONS},
        })
    rows.sort(key=lambda r: (r["rating"] is None, -(r["rating"] or 0.0), r["model"]))
    return {
        "method": "Bradley-Terry (MM; ties count half; 0.5 pseudo-win each way per compared pair), Elo scale "
                  f"1000 + 400 log10(strength); 95% CI from {BOOTSTRAP_ROUNDS} bootstrap resamples of comparisons; "
                  "dimension means with Student-t 95% CI",
        "comparisons": len(games),
        "models": rows,
    }
