"""Call a Dash callback over HTTP the way the browser does, found by its outputs."""
from __future__ import annotations


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
