"""ColumnMax, the sparse kernel every phenotype score goes through (it must equal a plain dense max), and its range helper."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from raregraph.kg.ontology_math import concatenated_ranges
from raregraph.retrieval.scoring import ColumnMax


@settings(max_examples=200, deadline=None)
@given(
    n_rows=st.integers(1, 40), n_cols=st.integers(1, 12), density=st.floats(0.0, 1.0),
    dense_share=st.sampled_from([0.0, 0.1, 0.5, 1.0]), seed=st.integers(0, 2**31 - 1), data=st.data(),
)
def test_row_max_over_picked_columns_equals_the_dense_max(
    n_rows: int, n_cols: int, density: float, dense_share: float, seed: int, data: st.DataObject
) -> None:
    """Any column subset (repeats allowed), heavy or sparse columns or both; implicit zeros count."""
    matrix = sp.random(n_rows, n_cols, density=density, format="csr", dtype=np.float32, random_state=seed)
    matrix.data *= 10.0
    columns = data.draw(st.lists(st.integers(0, n_cols - 1), min_size=0, max_size=2 * n_cols))
    expected = matrix.toarray()[:, columns].max(axis=1) if columns else np.zeros(n_rows, np.float32)
    got = ColumnMax(matrix, dense_share=dense_share)(columns)
    assert got.dtype == np.float32 and got.shape == (n_rows,)
    assert np.array_equal(got, np.maximum(expected, 0.0))


@settings(max_examples=200, deadline=None)
@given(
    n_rows=st.integers(1, 40), n_cols=st.integers(1, 12), density=st.floats(0.0, 1.0),
    dense_share=st.sampled_from([0.0, 0.1, 0.5, 1.0]), seed=st.integers(0, 2**31 - 1), data=st.data(),
)
def test_cells_equal_the_dense_matrix(
    n_rows: int, n_cols: int, density: float, dense_share: float, seed: int, data: st.DataObject
) -> None:
    """What evidence reads (`PhenotypeScorer.winners`): any distinct rows, any columns, heavy or sparse."""
    matrix = sp.random(n_rows, n_cols, density=density, format="csr", dtype=np.float32, random_state=seed)
    matrix.data *= 10.0
    rows = np.array(data.draw(st.lists(st.integers(0, n_rows - 1), unique=True, max_size=n_rows)), dtype=np.int64)
    columns = np.array(data.draw(st.lists(st.integers(0, n_cols - 1), max_size=2 * n_cols)), dtype=np.int64)
    got = ColumnMax(matrix, dense_share=dense_share).cells(rows, columns)
    assert got.dtype == np.float32 and np.array_equal(got, matrix.toarray()[rows][:, columns])


def test_results_are_fresh_arrays() -> None:
    """Callers add into the result: it must never alias a stored heavy column."""
    matrix = sp.csr_matrix(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
    kernel = ColumnMax(matrix, dense_share=0.0)
    first = kernel([0])
    first += 100.0
    assert np.array_equal(kernel([0]), np.array([1.0, 3.0], dtype=np.float32))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 10)), max_size=8))
def test_concatenated_ranges_lists_every_position_in_order(spans: list[tuple[int, int]]) -> None:
    starts = np.array([a for a, _ in spans], dtype=np.int64)
    ends = np.array([a + n for a, n in spans], dtype=np.int64)
    expected = [p for a, n in spans for p in range(a, a + n)]
    assert concatenated_ranges(starts, ends).tolist() == expected
