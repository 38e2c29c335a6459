"""Property: any string either builds a valid model or raises the grammar's one error type."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnn
from cnn.engine.arch import MAX_COST, MAX_PARAMS, MOVE_COST, cost

TOKENS = st.one_of(st.just("p"), st.builds("c{}".format, st.integers(0, 300)),
                   st.builds("d{}".format, st.integers(0, 1100)), st.sampled_from(["x", " ", "C", "-1", "08", ""]))
GRAMMAR_LIKE = st.lists(TOKENS, max_size=14).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(GRAMMAR_LIKE, st.text(max_size=30)))
def test_any_string_builds_or_raises_arch_error(arch):
    try:
        tokens = cnn.parse_arch(arch)
    except cnn.ArchError as e:
        assert "c<N>" in str(e)
        return
    model = cnn.build_model(arch)
    macs, moved = cost(tokens)
    assert len(tokens) <= 12 and model.n_params <= MAX_PARAMS and macs + MOVE_COST * moved <= MAX_COST
    assert model.predict_proba(np.zeros((1, 28, 28))).shape == (1, 10)
