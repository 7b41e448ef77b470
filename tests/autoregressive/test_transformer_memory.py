"""Attention's memory grows with L^2: a batch that cannot fit is one clear error, and
evaluation splits the data into passes that fit (found when river's 1,280 pixels were
killed for memory without a word)."""
import numpy as np
import pytest

from scratch_gen.autoregressive import transformer
from scratch_gen.common.errors import UserError
from scratch_gen.registry import DataSpec, get


def _model(monkeypatch, limit_sequences):
    spec = DataSpec("image", shape=(4, 4), levels=2)
    model = get("autoregressive", "transformer")(spec, {"d_model": 8, "heads": 2, "layers": 1},
                                                 np.random.default_rng(0))
    x = np.random.default_rng(1).integers(0, 2, size=(40, 4, 4))
    model.setup(x, None, np.random.default_rng(2))
    monkeypatch.setattr(transformer, "ATTENTION_BYTES", limit_sequences * model.attention_bytes(1))
    return model, x


def test_a_batch_too_big_for_attention_is_one_line_naming_the_batch_that_fits(monkeypatch):
    model, x = _model(monkeypatch, limit_sequences=5)
    with pytest.raises(UserError) as e:
        model.train_step(x[:8], None, np.random.default_rng(3))
    msg = str(e.value)
    assert "\n" not in msg and "batch of 8" in msg and "--batch-size 5" in msg
    model.train_step(x[:5], None, np.random.default_rng(3))        # 5 fits


def test_log_prob_is_the_same_in_passes_that_fit(monkeypatch):
    model, x = _model(monkeypatch, limit_sequences=10 ** 6)
    whole = model.log_prob(x)
    monkeypatch.setattr(transformer, "ATTENTION_BYTES", 3 * model.attention_bytes(1))
    assert model.eval_batch() == 3
    np.testing.assert_allclose(model.log_prob(x), whole, rtol=1e-6, atol=1e-6)
