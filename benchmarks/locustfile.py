"""Simulated users for the load test, run by `benchmarks.http_bench` (settings come from BENCH_* variables).

Each user signs in, then switches tabs and filters with a second or two between clicks. Every
answer's hash is recorded per request, so the run can check that all workers answer alike.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
from collections import defaultdict

from locust import HttpUser, between, events, task

from benchmarks.dash_requests import Callbacks, sign_in
from layouts.shell import TAB_KEYS

SEARCHES = json.loads(os.environ.get("BENCH_SEARCHES", '[""]'))
ANSWERS: dict[str, set[str]] = defaultdict(set)  # request -> hashes of the answers seen (this process only)


class DashboardUser(HttpUser):
    wait_time = between(1, 2)

    def on_start(self) -> None:
        sign_in(self.client, self.host, os.environ["BENCH_USERNAME"], os.environ["BENCH_PASSWORD"])
        self.callbacks = Callbacks(self.client.get("/_dash-dependencies").json())

    @task(4)
    def change_filters(self) -> None:
        search = random.choice(SEARCHES)
        for part, body in zip(("summary", "figures"), self.callbacks.performance_bodies(search)):
            self._post(f"performance {part} {search}", body, f"filter change: {part}")

    @task(1)
    def switch_tab(self) -> None:
        tab = random.choice(TAB_KEYS)
        self._post(f"tab {tab}", self.callbacks.tab_body(tab), "tab switch")

    def _post(self, key: str, body: dict, name: str) -> None:
        with self.client.post("/_dash-update-component", json=body, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return
            ANSWERS[key].add(hashlib.sha256(response.content).hexdigest())


@events.test_stop.add_listener
def _write_answers(**_kwargs) -> None:
    with open(os.environ["BENCH_ANSWERS"], "w", encoding="utf-8") as handle:
        json.dump({key: sorted(hashes) for key, hashes in ANSWERS.items()}, handle)
