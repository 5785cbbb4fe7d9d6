"""HTTP requests a browser sends to the app: sign-in and Dash callback calls, built from the
app's own callback list. Shared by the HTTP benchmark and the locust load test."""
from __future__ import annotations

import re

import requests

from layouts import filter_bar, performance, shell
from services.performance.customers import TOP_SIZES
from services.performance.kpis import DEFAULT_CHURN_DAYS



def sign_in(session: requests.Session, base: str, username: str, password: str) -> None:
    page = session.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = session.post(f"{base}/login", data={"username": username, "password": password,
                                                   "csrf_token": token, "next": "/"}, timeout=30)
    response.raise_for_status()
    if "/login" in response.url:
        raise RuntimeError("sign-in failed")


class Callbacks:
    """Request bodies for the callbacks the benchmark calls, from `/_dash-dependencies`."""

    def __init__(self, dependencies: list[dict]) -> None:
        self.summary = self._find(dependencies, f"{filter_bar.STORE}.data", "kpi-total-revenue")
        self.figures = self._find(dependencies, f"{filter_bar.STORE}.data", performance.MAP_GRAPH)
        self.tab_switch = self._find(dependencies, f"{shell.TABS}.active_tab", shell.TAB_CONTENT)

    @staticmethod
    def _find(dependencies: list[dict], first_input: str, output_part: str) -> dict:
        return next(c for c in dependencies if output_part in c["output"]
                    and f"{c['inputs'][0]['id']}.{c['inputs'][0]['property']}" == first_input)

    def performance_bodies(self, search: str, theme: str = "light") -> list[dict]:
        """The requests a filter change sends: the tab's summary and its figures."""
        values = {f"{filter_bar.STORE}.data": search, f"{performance.CHURN_DAYS}.value": DEFAULT_CHURN_DAYS,
                  f"{performance.TOP_SIZE}.value": str(TOP_SIZES[0]), f"{shell.THEME_STORE}.data": theme}
        return [_body(self.summary, values), _body(self.figures, values)]

    def tab_body(self, tab: str) -> dict:
        return _body(self.tab_switch, {f"{shell.TABS}.active_tab": tab})


def _body(callback: dict, values: dict) -> dict:
    output = callback["output"]
    specs = output.strip(".").split("...") if output.startswith("..") else [output]
    outputs = [dict(zip(("id", "property"), spec.split("@")[0].rsplit(".", 1))) for spec in specs]

    def listed(declared: list[dict]) -> list[dict]:
        return [{"id": item["id"], "property": item["property"],
                 "value": values.get(f"{item['id']}.{item['property']}")} for item in declared]

    inputs = listed(callback["inputs"])
    return {"output": output, "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": inputs,
            "state": listed(callback["state"]), "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"]}
