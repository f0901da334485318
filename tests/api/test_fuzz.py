"""schemathesis against the live bureau: generated requests to every operation of
bureau/openapi.yaml, each sent as every kind of caller (the admin token, an
enrolled device, a signed-in admin's session, a reviewer's session, nobody, and
forged credentials). Every answer must:
- not be a server error (5xx) or a dropped connection;
- conform to the description: status code, content type, headers, body schema;
- be a refusal when the credential is not one the operation accepts;
- when it is a refusal (4xx), have changed nothing the bureau keeps (the
  database and the photo store, fingerprinted before and after).

FIELDPROOF_FUZZ_EXAMPLES sets the examples per operation and caller (default
10: some 3,800 requests; a route without parameters has fewer).
"""

import collections
import itertools

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import EXAMPLES, SPEC

CALLERS = ["admin", "device", "staff_admin", "staff_reviewer", "nobody", "forged"]
SIGN_OUTS = {"DELETE /v1/session", "POST /console/logout"}
AUTH_HEADERS = {"authorization", "x-csrf-token"}
CHECKS = [
    not_a_server_error,
    negative_data_rejection,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


# tus chunks are raw bytes, FIRMS files plain text.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
schemathesis.serializer.alias("text/csv", "text/plain")

# Loaded at import (schemathesis's lazy fixture loader does not run under pytest 9);
# the live bureau's address is given with each request.
schema = schemathesis.openapi.from_path(str(SPEC))


def credentials(bureau, caller):
    """Headers and cookies that present `caller`."""
    if caller == "admin":
        return {"Authorization": f"Bearer {bureau.admin_token}"}, {}
    if caller == "device":
        return {"Authorization": f"Bearer {bureau.device_token}"}, {}
    if caller in bureau.sessions:
        cookie, csrf = bureau.sessions[caller][-1]
        return {"X-CSRF-Token": csrf}, {"fp_session": cookie}
    if caller == "forged":
        return {"Authorization": "Bearer fpd_" + "A" * 43, "X-CSRF-Token": "x"}, {"fp_session": "forged"}
    return {}, {}


# Every other case of an operation and caller names records the bureau holds and
# carries the session's CSRF token in a console form.
TURNS = collections.defaultdict(itertools.count)


def name_real_records(case, bureau):
    """Puts records the bureau holds in the case's path: its inspections (in turn),
    the photo, an upload, and the spare device and account (revoking and disabling
    them leaves the fuzzer's own credentials working)."""
    path = case.operation.path
    parameters = case.path_parameters or {}
    if "id" in parameters:
        if "/devices/" in path:
            parameters["id"] = bureau.ids["spare_device"]
        elif "/users/" in path:
            parameters["id"] = bureau.ids["spare_user"]
        elif "/uploads/" in path:
            parameters["id"] = bureau.ids["upload"]
        else:
            parameters["id"] = bureau.ids[next(INSPECTIONS)]
    if "sha" in parameters:
        parameters["id"] = bureau.ids["photo"]
        parameters["sha"] = bureau.ids["sha"]
    case.path_parameters = parameters


INSPECTIONS = itertools.cycle(["plain", "photo"])


def accepts(operation, caller):
    """Whether the operation's security lets `caller` in at all."""
    schemes = set()
    for requirement in operation.definition.raw.get("security", [{}]):
        if not requirement:
            return True
        schemes.update(requirement)
    return {
        "admin": "adminToken", "device": "deviceToken",
        "staff_admin": "staffSession", "staff_reviewer": "staffSession",
    }.get(caller) in schemes


@pytest.mark.parametrize("caller", CALLERS)
@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests on every run: a failure reproduces
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.generate],
)
def test_every_answer_matches_the_description(case, caller, bureau):
    headers, cookies = credentials(bureau, caller)
    # Exactly this caller's credentials: schemathesis keeps what a call adds in the case,
    # and a shared client session would keep cookies the bureau sets.
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in AUTH_HEADERS} | headers
    case.cookies = {k: v for k, v in (case.cookies or {}).items() if k != "fp_session"} | cookies
    if next(TURNS[case.operation.label, caller]) % 2:
        name_real_records(case, bureau)
        if caller in bureau.sessions and isinstance(case.body, dict) and case.operation.path.startswith("/console/"):
            case.body["csrf"] = bureau.sessions[caller][-1][1]  # a console form as the page made it
    before = bureau.fingerprint()
    with requests.Session() as client:
        response = case.call(base_url=bureau.url, session=client, allow_redirects=False)
    bureau.answered(case.operation.label, caller, response.status_code)
    if case.operation.label in SIGN_OUTS and response.status_code < 400 and caller in bureau.sessions:
        bureau.sessions[caller].pop()  # that session is over: the next one from now on
    case.validate_response(response, checks=CHECKS, headers=headers)
    if not accepts(case.operation, caller):
        # Refused, or (a console page) sent to the login form.
        status = response.status_code
        to_login = status == 303 and header(response, "location").startswith("/console/login")
        assert status >= 400 or to_login, f"{case.operation.label} let {caller} in: {status}"
    if response.status_code >= 400 and not created_anyway(case, response):
        assert bureau.fingerprint() == before, (
            f"{case.operation.label} refused with {response.status_code} but changed what the bureau keeps")


def created_anyway(case, response):
    """tus creation-with-upload: the upload exists even when its first chunk is
    refused, and the answer says where (bureau/docs/uploads.md)."""
    return case.operation.label == "POST /v1/uploads" and bool(header(response, "location"))


def header(response, name):
    """A response header's (first) value, or "" (schemathesis keeps them by lower-case name)."""
    return (response.headers.get(name) or [""])[0]
