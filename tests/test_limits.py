import pytest

from search.limits import Limits


def test_defaults_without_environment():
    assert Limits.from_env({}) == Limits()
    assert Limits.from_env({"VNSEARCH_MAX_BODY_BYTES": ""}) == Limits()


def test_limits_from_environment():
    limits = Limits.from_env({"VNSEARCH_SEARCH_BUDGET_MS": "250", "VNSEARCH_MAX_BODY_BYTES": "10"})
    assert (limits.search_budget_ms, limits.max_body_bytes) == (250, 10)


@pytest.mark.parametrize("bad", ["0", "-5", "ten", "1.5"])
def test_bad_values_name_the_variable(bad):
    with pytest.raises(ValueError, match="VNSEARCH_MAX_BODY_BYTES"):
        Limits.from_env({"VNSEARCH_MAX_BODY_BYTES": bad})
