"""The OpenAPI schema of the whole project (/api/schema/): every view describes itself, and
drf-spectacular's deploy check (`manage.py check --deploy`) finds nothing to say."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.checks import schema_check
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.validation import validate_schema

SHIFTS = "/api/v1/shifts"
ESCALATION = "/api/v1/escalation"
# Read from shifts/api_urls.py and escalation/api_urls.py; the path's pk is named "id".
ENDPOINTS = {
    f"{SHIFTS}/on-duty/": {"get"},
    f"{SHIFTS}/zones/": {"get", "post"},
    f"{SHIFTS}/zones/{{id}}/": {"get", "put", "patch"},
    f"{SHIFTS}/closures/": {"get", "post"},
    f"{SHIFTS}/closures/{{id}}/": {"get", "delete"},
    f"{SHIFTS}/slots/": {"get"},
    f"{SHIFTS}/bookings/": {"get", "post"},
    f"{SHIFTS}/bookings/{{id}}/": {"get", "delete"},
    f"{SHIFTS}/credits/": {"get"},
    f"{ESCALATION}/groups/": {"get", "post"},
    f"{ESCALATION}/groups/{{id}}/": {"get", "put", "patch"},
    f"{ESCALATION}/sites/": {"get"},
    f"{ESCALATION}/escalations/": {"get", "post"},
    f"{ESCALATION}/escalations/{{id}}/": {"get"},
    f"{ESCALATION}/escalations/{{id}}/cancel/": {"post"},
    f"{ESCALATION}/timers/": {"get"},
    f"{ESCALATION}/timers/{{id}}/": {"get"},
}


def _generated() -> tuple[dict[str, Any], list[str]]:
    """The whole project's schema, and what drf-spectacular warned about making it."""
    GENERATOR_STATS.reset()
    try:
        with GENERATOR_STATS.silence():
            schema = SchemaGenerator().get_schema(request=None, public=True)
        problems = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    finally:
        GENERATOR_STATS.reset()
    return schema, problems


@pytest.fixture(scope="module")
def generated() -> tuple[dict[str, Any], list[str]]:
    return _generated()


@pytest.fixture(scope="module")
def schema(generated: tuple[dict[str, Any], list[str]]) -> dict[str, Any]:
    return generated[0]


def _operation(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return schema["paths"][path][method]


def test_the_whole_api_describes_itself_without_a_warning_or_an_error(generated):
    schema, problems = generated
    assert problems == []
    validate_schema(schema)


def test_every_shifts_and_escalation_endpoint_is_there_with_its_methods(schema):
    found = {
        path: set(operations) - {"parameters"}
        for path, operations in schema["paths"].items()
        if path.startswith((SHIFTS, ESCALATION))
    }
    assert found == ENDPOINTS


@pytest.mark.parametrize("path", sorted(ENDPOINTS))
def test_each_endpoint_is_tagged_and_named_for_its_app_and_has_a_success_answer(schema, path):
    tag = "shifts" if path.startswith(SHIFTS) else "escalation"
    for method in ENDPOINTS[path]:
        operation = _operation(schema, path, method)
        assert operation["tags"] == [tag], (path, method)
        assert operation["operationId"].startswith(f"{tag}_"), (path, method)
        assert {"200", "201", "204"} & set(operation["responses"]), (path, method)


def test_writes_take_their_input_serializer_and_cancelling_takes_no_body(schema):
    bodies = {
        (f"{SHIFTS}/zones/", "post"): "ZoneInput",
        (f"{SHIFTS}/zones/{{id}}/", "put"): "ZoneInput",
        (f"{SHIFTS}/zones/{{id}}/", "patch"): "PatchedZoneInput",
        (f"{SHIFTS}/closures/", "post"): "Closure",
        (f"{SHIFTS}/bookings/", "post"): "BookingCreate",
        (f"{ESCALATION}/groups/", "post"): "Group",
        (f"{ESCALATION}/groups/{{id}}/", "patch"): "PatchedGroup",
        (f"{ESCALATION}/escalations/", "post"): "EscalationCreate",
    }
    for (path, method), component in bodies.items():
        body = _operation(schema, path, method)["requestBody"]["content"]["application/json"]
        assert body["schema"] == {"$ref": f"#/components/schemas/{component}"}, (path, method)
    assert "requestBody" not in _operation(
        schema, f"{ESCALATION}/escalations/{{id}}/cancel/", "post"
    )


def test_an_escalation_answers_201_with_the_escalation_or_400_with_the_refusal(schema):
    responses = _operation(schema, f"{ESCALATION}/escalations/", "post")["responses"]
    assert set(responses) == {"201", "400", "403", "404"}
    created = responses["201"]["content"]["application/json"]["schema"]
    assert created == {"$ref": "#/components/schemas/Escalation"}
    refused = responses["400"]["content"]["application/json"]["schema"]
    assert refused == {"$ref": "#/components/schemas/Refusal"}


def test_the_filters_each_view_reads_are_query_parameters(schema):
    expected = {
        (f"{SHIFTS}/on-duty/", "get"): {"team", "at"},
        (f"{SHIFTS}/slots/", "get"): {"team", "from", "to"},
        (f"{SHIFTS}/bookings/", "get"): {"team", "person", "zone", "from", "to", "page"},
        (f"{SHIFTS}/credits/", "get"): {"team", "from", "to"},
        (f"{ESCALATION}/groups/", "get"): {"team", "kind", "page"},
        (f"{ESCALATION}/escalations/", "get"): {"team", "ticket", "state", "group", "page"},
        (f"{ESCALATION}/timers/", "get"): {"team", "ticket", "state", "kind", "page"},
    }
    for (path, method), names in expected.items():
        parameters = _operation(schema, path, method).get("parameters", [])
        assert {p["name"] for p in parameters if p["in"] == "query"} == names, path


def test_the_ids_in_paths_are_integers(schema):
    for path, methods in ENDPOINTS.items():
        if "{id}" not in path:
            continue
        for method in methods:
            parameters = _operation(schema, path, method)["parameters"]
            (id_parameter,) = [p for p in parameters if p["in"] == "path"]
            assert id_parameter["name"] == "id"
            assert id_parameter["schema"]["type"] == "integer", (path, method)


def test_only_on_duty_may_be_read_without_signing_in(schema):
    anonymous = {
        (path, method)
        for path, methods in ENDPOINTS.items()
        for method in methods
        if {} in _operation(schema, path, method).get("security", [])
    }
    assert anonymous == {(f"{SHIFTS}/on-duty/", "get")}


def test_the_deploy_check_runs_drf_spectacular_and_it_finds_nothing():
    assert spectacular_settings.ENABLE_DJANGO_DEPLOY_CHECK is True
    GENERATOR_STATS.reset()
    try:
        messages = schema_check(None)
    finally:
        GENERATOR_STATS.reset()
    assert messages == []
