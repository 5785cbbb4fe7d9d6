"""Call a Dash callback over HTTP the way the browser does, found by its outputs."""
from __future__ import annotations

import base64
from types import SimpleNamespace

import numpy as np


def _parts(spec: str) -> tuple[str, str]:
    component, _, prop = spec.rpartition(".")
    return component, prop.split("@")[0]


def _outputs_of(callback: dict) -> list[str]:
    output = callback["output"]
    return output.strip(".").split("...") if output.startswith("..") else [output]


def call(client, output: str, inputs: dict[str, object], state: dict[str, object] | None = None):
    """POST to /_dash-update-component for the callback with output `output` ("id.prop") and these inputs.

    `inputs` and `state` map "id.prop" to values; the first input listed is the trigger.
    Returns the response; `.get_json()["response"]` holds the outputs by component id.
    """
    callbacks = client.get("/_dash-dependencies").get_json()
    callback = next(c for c in callbacks if output in [s.split("@")[0] for s in _outputs_of(c)]
                    and next(iter(inputs)) in [f"{i['id']}.{i['property']}" for i in c["inputs"]])
    state = state or {}

    def values(declared: list[dict], given: dict[str, object]) -> list[dict]:
        return [{"id": item["id"], "property": item["property"], "value": given.get(f"{item['id']}.{item['property']}")}
                for item in declared]

    outputs = [dict(zip(("id", "property"), _parts(spec))) for spec in _outputs_of(callback)]
    body = {
        "output": callback["output"],
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": values(callback["inputs"], inputs),
        "state": values(callback["state"], state),
        "changedPropIds": [next(iter(inputs))],
    }
    return client.post("/_dash-update-component", json=body)


# --- reading the answers

def find(node, component_id: str) -> dict | None:
    """The props of the component with this id inside a rendered tree."""
    if isinstance(node, dict):
        props = node.get("props", {})
        if isinstance(props, dict) and props.get("id") == component_id:
            return props
        return next((found for found in map(lambda n: find(n, component_id), node.values()) if found), None)
    if isinstance(node, list):
        return next((found for found in map(lambda n: find(n, component_id), node) if found), None)
    return None


def text(node) -> str:
    if isinstance(node, (str, int, float)):
        return str(node)
    if isinstance(node, dict):
        return text(node.get("props", {}).get("children"))
    if isinstance(node, list):
        return " ".join(text(child) for child in node)
    return ""


def array(values) -> np.ndarray:
    """A figure's array as JSON carries it: a list, or Plotly's typed array (base64 bytes and a dtype)."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values)


def ok(response) -> dict:
    """The outputs of a callback answer that must have succeeded."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()["response"]


# --- the login guard

class _Replayed:
    """A client that posts without a login, with the callback map a logged-in client read."""

    def __init__(self, client, dependencies):
        self.client, self.dependencies = client, dependencies

    def get(self, _path):
        return SimpleNamespace(get_json=lambda: self.dependencies)

    def post(self, *args, **kwargs):
        return self.client.post(*args, **kwargs)


def listed_outputs(dependencies: list[dict], specs) -> set[str]:
    """The outputs of the callbacks that `specs` ((output, inputs, state) as `call` takes them) reach."""
    listed = set()
    for output, inputs, _state in specs:
        first = next(iter(inputs))
        listed |= {c["output"] for c in dependencies if output in c["output"]
                   and first in [f"{i['id']}.{i['property']}" for i in c["inputs"]]}
    return listed


def assert_no_data_without_login(app, client, auth, output, inputs, state) -> None:
    """The callback answers a logged-in user, and neither a logged-out client nor one never logged in."""
    auth.login()
    dependencies = client.get("/_dash-dependencies").get_json()
    assert ok(call(client, output, inputs, state))
    auth.logout()
    for anonymous in (client, app.test_client()):
        response = call(_Replayed(anonymous, dependencies), output, inputs, state)
        assert response.status_code in (401, 403) or (
            response.status_code in (301, 302, 303) and "/login" in response.headers["Location"])
        assert "response" not in (response.get_json(silent=True) or {})
