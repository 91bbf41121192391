"""The check registry: ids are unique, unknown ids are named, params are strict."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cloudkata.checks import Params, Result, all_checks, check, get, passed, registry
from cloudkata.checks.registry import DuplicateCheckError, UnknownCheckError


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> dict:
    """A copy of the registry, so test registrations never leak into other tests."""
    copy = dict(all_checks())
    monkeypatch.setattr(registry, "_REGISTRY", copy)
    return copy


def test_builtin_checks_are_registered() -> None:
    checks = all_checks()
    assert "iam.role_trusts_service" in checks
    for check_id, spec in checks.items():
        assert spec.id == check_id
        assert spec.title
        assert issubclass(spec.params, Params)
        assert spec.service == check_id.split(".")[0]


def test_duplicate_id_raises(scratch_registry: dict) -> None:
    original = scratch_registry["iam.role_exists"]

    with pytest.raises(DuplicateCheckError, match="iam.role_exists"):
        @check("iam.role_exists", title="Another")
        def again(aws: object, params: object) -> Result:
            return passed("never")

    assert scratch_registry["iam.role_exists"] is original


def test_new_check_registers_and_is_found(scratch_registry: dict) -> None:
    @check("test.thing", title="A thing", hint="Make the thing.")
    def thing(aws: object, params: object) -> Result:
        return passed("thing exists")

    spec = get("test.thing")
    assert spec.function is thing
    assert spec.service == "test"
    assert spec.hint == "Make the thing."


def test_unknown_id_raises_with_its_name() -> None:
    with pytest.raises(UnknownCheckError) as caught:
        get("iam.role_exsts")
    assert isinstance(caught.value, KeyError)
    assert str(caught.value) == "No check is registered as 'iam.role_exsts'."


def test_params_with_an_unknown_key_fail_validation() -> None:
    params = get("iam.role_trusts_service").params
    with pytest.raises(ValidationError) as caught:
        params.model_validate({"role": "r", "service": "ec2.amazonaws.com", "servce": "x"})
    assert caught.value.errors()[0]["type"] == "extra_forbidden"
    assert caught.value.errors()[0]["loc"] == ("servce",)


def test_params_with_a_missing_key_fail_validation() -> None:
    with pytest.raises(ValidationError):
        get("iam.role_trusts_service").params.model_validate({"role": "r"})


def test_params_are_validated_by_type() -> None:
    may_call = get("iam.role_may_call").params
    with pytest.raises(ValidationError):
        may_call.model_validate({"role": "r", "actions": []})  # at least one action
    ok = may_call.model_validate({"role": "r", "actions": ["s3:GetObject"]})
    assert ok.resource == "*"  # type: ignore[attr-defined]
