"""bureau/openapi.yaml describes exactly the routes the bureau's router serves.

Two halves, since axum cannot list its routes:
- the paths: every `.route(PATH, …)` in bureau/src/api and bureau/src/console (a
  literal, or a `const` of the core's wire types) is a path of the description,
  and every path of the description is one of them;
- the methods: on the live bureau, every method the description gives a path is
  routed (anything but 405 and the router's own 404), and every other method is
  405 Method Not Allowed. HEAD comes with GET (axum answers it from the GET handler).
"""

import pathlib
import re
import urllib.error
import urllib.request

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((ROOT / "bureau/openapi.yaml").read_text())
METHODS = ["get", "post", "put", "patch", "delete", "options", "head"]
ROUTE = re.compile(r'\.route\(\s*(?:"([^"]+)"|([A-Z][A-Z0-9_]*))\s*,')
CONST = re.compile(r'const ([A-Z][A-Z0-9_]*): &str = "([^"]+)";')
# A value for each path parameter that the router accepts.
SAMPLE = {"id": "0190a5c4-0000-7000-8000-000000000000", "sha": "0" * 64, "size": "thumb"}


def routed_paths():
    consts = {}
    for source in [*(ROOT / "core/src").rglob("*.rs"), *(ROOT / "bureau/src").rglob("*.rs")]:
        consts.update(CONST.findall(source.read_text()))
    paths = set()
    for folder in ["bureau/src/api", "bureau/src/console"]:
        for source in (ROOT / folder).glob("*.rs"):
            for literal, name in ROUTE.findall(source.read_text()):
                assert literal or name in consts, f"{source.name}: route path {name} is not a known const"
                paths.add(literal or consts[name])
    return paths


def test_the_description_has_every_routed_path_and_no_other():
    routed = routed_paths()
    assert len(routed) > 50, f"the scan found only {len(routed)} routes: has the router's shape changed?"
    described = set(SPEC["paths"])
    assert sorted(routed - described) == [], "routed but not described"
    assert sorted(described - routed) == [], "described but not routed"


def answer(url, method, path):
    filled = re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], path)
    # The tus header, or the uploads' middleware answers 412 before the method is routed.
    request = urllib.request.Request(url + filled, method=method.upper(), headers={"Tus-Resumable": "1.0.0"})
    # Redirects are answers too: the console sends a visitor without a session to log in.
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_every_described_method_is_routed_and_no_other(bureau):
    # The router's own answer for a path it does not know, to tell it apart from a
    # handler's 404 for a record it does not know.
    fallback = answer(bureau.url, "get", "/v1/no-such-route")
    assert fallback[0] == 404, fallback
    for path, item in SPEC["paths"].items():
        described = {m for m in item if m in METHODS}
        if "get" in described:
            described.add("head")
        for method in METHODS:
            status, body = answer(bureau.url, method, path)
            if method in described:
                assert status != 405, f"{method.upper()} {path} is described but not routed"
                assert (status, body) != fallback, f"{method.upper()} {path} fell through to the fallback"
            else:
                assert status == 405, f"{method.upper()} {path} answers {status} but is not described"
