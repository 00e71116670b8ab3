"""Arena table: Bradley–Terry ratings from blind A/B preferences, and mean ratings per dimension, per model.

A "model" is what answered: the LLM's served name when the LLM step ran, else the retrieval
method. Bradley–Terry strengths are fitted by Hunter's MM iterations (ties count half a win to
each side; every compared pair gets half a pseudo-win each way, so an undefeated model has a
finite rating) and shown on the Elo scale, 1000 + 400·log10(strength), as LMSYS's Chatbot Arena
reports them. 95 % intervals: percentiles of 1,000 bootstrap resamples of the comparisons
(seeded, so an export is reproducible). Dimension means carry a Student-t 95 % interval.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from raregraph.api.feedback.models import RATING_DIMENSIONS

if TYPE_CHECKING:
    from raregraph.api.feedback.store import FeedbackStore, StoredFeedback

__all__ = ["bradley_terry", "arena_table", "BOOTSTRAP_ROUNDS"]

BOOTSTRAP_ROUNDS = 1000
_PSEUDO = 0.5
_SEED = 20240426


def bradley_terry(n_models: int, games: np.ndarray, *, iterations: int = 200) -> np.ndarray:
    """Strengths (geometric mean 1) from `games`, an int array `(n, 3)` of (winner, loser, tie flag).

    Cost: O(iterations · n_models²).
    """
    wins = np.zeros((n_models, n_models))
    winner, loser, tie = games[:, 0], games[:, 1], games[:, 2].astype(bool)
    np.add.at(wins, (winner, loser), np.where(tie, 0.5, 1.0))
    np.add.at(wins, (loser[tie], winner[tie]), 0.5)
    played = wins + wins.T
    compared = played > 0
    wins = wins + _PSEUDO * compared
    played = wins + wins.T
    total_wins = wins.sum(axis=1)
    p = np.ones(n_models)
    for _ in range(iterations):
        denom = (played / (p[:, None] + p[None, :])).sum(axis=1)
        new = np.where(denom > 0, total_wins / np.where(denom > 0, denom, 1), 1.0)
        new = np.maximum(new, 1e-12)
        new /= math.exp(np.log(new).mean())
        if np.allclose(new, p, rtol=1e-10, atol=0):
            p = new
            break
        p = new
    return p


def _elo(strength: np.ndarray) -> np.ndarray:
    return 1000.0 + 400.0 * np.log10(strength)


def _mean_ci(values: Sequence[int]) -> dict[str, Any]:
    n = len(values)
    mean = float(np.mean(values)) if n else None
    if n < 2:
        return {"n": n, "mean": mean, "ci95": None}
    from scipy.stats import t

    half = float(t.ppf(0.975, n - 1) * np.std(values, ddof=1) / math.sqrt(n))
    return {"n": n, "mean": round(mean or 0.0, 4), "ci95": [round((mean or 0) - half, 4), round((mean or 0) + half, 4)]}


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
        array = np.array(games, dtype=int)
        fitted = _elo(bradley_terry(len(names), array))
        rng = np.random.default_rng(_SEED)
        samples = np.array([_elo(bradley_terry(len(names), array[rng.integers(0, len(array), len(array))]))
                            for _ in range(BOOTSTRAP_ROUNDS)])
        low, high = np.percentile(samples, [2.5, 97.5], axis=0)
        for n in record:
            i = index[n]
            elo[n] = round(float(fitted[i]), 1)
            ci[n] = [round(float(low[i]), 1), round(float(high[i]), 1)]
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
