"""An annotator in Label Studio's label stream, in a real browser: what the UI tests and the label-stream benchmark
drive. Each answer is the gold label, clicked the way a person clicks it; every Submit is recorded with what the page
did (moved on, refused with a toast) and when, so a test can check that Label Studio saved every one."""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.browser import AnnotatorBrowser

REFUSED_LINE = re.compile(r"parent_prediction|Annotation is not saved")  # Label Studio's log line for a refused submit


@dataclass(frozen=True)
class Submit:
    """One Submit click: the task, the label clicked, the guess shown pre-filled, what the page did
    ("next", "done", "refused"), when the task was shown and submitted (time.time()), seconds until the page moved."""

    annotator: str
    task_id: int
    label: str
    prefilled: tuple[str, ...]
    how: str
    shown_at: float
    submitted_at: float
    seconds: float


def label_in_stream(
    browser: AnnotatorBrowser,
    url: str,
    project_id: int,
    gold: dict[int, str],
    count: int,
    think: Callable[[], float],
    annotator: str = "annotator",
    stop: Callable[[], bool] = lambda: False,
    on_submit: Callable[[Submit], None] = lambda s: None,
) -> list[Submit]:
    """Open the stream ("Label All Tasks") and label ``count`` tasks with their gold labels, ``think()`` seconds on
    each; a refused submit is recorded and the page reloaded (as an annotator must), the task then answered again."""
    submits: list[Submit] = []
    shown = browser.open_label_stream(url, project_id)
    shown_at = time.time()
    while len(submits) < count and not stop():
        label = gold[shown.task_id]
        time.sleep(think())
        browser.choose(label)
        clicked = time.time()
        outcome = browser.submit(shown.task_id)
        submit = Submit(
            annotator, shown.task_id, label, tuple(shown.checked), outcome.how, shown_at, clicked, outcome.seconds
        )
        submits.append(submit)
        on_submit(submit)
        if outcome.how == "done":
            break
        if outcome.how == "refused":
            browser.driver.refresh()
        shown = browser.shown_task()
        shown_at = time.time()
    return submits


class VersionWatch:
    """Reads a project's model_version every ``every`` seconds in a thread: each change with when it was seen
    (``changes``: (time.time(), model_version)), from the first reading on."""

    def __init__(self, url: str, token: str, project_id: int, every: float = 0.1) -> None:
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"}, timeout=30)
        self.project_id, self.every = project_id, every
        self.changes: list[tuple[float, str | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            mv = self.http.get(f"/api/projects/{self.project_id}/").json().get("model_version")
            if not self.changes or self.changes[-1][1] != mv:
                self.changes.append((time.time(), mv))

    @property
    def seen(self) -> list[str | None]:
        """The model_versions seen, in order."""
        return [mv for _, mv in self.changes]

    def first_change_after(self, when: float) -> float | None:
        """Seconds from ``when`` to the first change seen after it (None: none)."""
        return next((t - when for t, _ in self.changes if t > when), None)

    def __enter__(self) -> VersionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)
        self.http.close()


def pace(low: float, high: float, seed: int = 0) -> Callable[[], float]:
    """Seconds spent on a task, drawn uniformly from [low, high] (0, 0: no pause at all)."""
    rng = random.Random(seed)
    return lambda: rng.uniform(low, high)


def refused_in_log(log_path: Path, offset: int) -> list[str]:
    """Label Studio's log lines after byte ``offset`` that say a submit was refused."""
    with open(log_path, "rb") as fh:
        fh.seek(offset)
        text = fh.read().decode(errors="replace")
    return [line for line in text.splitlines() if REFUSED_LINE.search(line)]


def saved_labels(url: str, token: str, project_id: int) -> dict[int, list[tuple[list[str], bool]]]:
    """Every task's annotations in Label Studio: (the choices, whether it was cancelled) per annotation."""
    out: dict[int, list[tuple[list[str], bool]]] = {}
    page = 1
    with httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"}, timeout=60) as http:
        while True:
            answer = http.get(
                "/api/tasks/", params={"project": project_id, "page": page, "page_size": 500, "fields": "all"}
            )
            if answer.status_code == 404:
                return out
            answer.raise_for_status()
            data = answer.json()
            for task in data["tasks"]:
                out[task["id"]] = [
                    (_choices(a.get("result") or []), bool(a.get("was_cancelled")))
                    for a in task.get("annotations") or []
                ]
            if page * 500 >= data["total"]:
                return out
            page += 1


def _choices(result: list[dict[str, Any]]) -> list[str]:
    return [c for region in result if region.get("type") == "choices" for c in region["value"]["choices"]]


def lost(submits: list[Submit], saved: dict[int, list[tuple[list[str], bool]]]) -> list[Submit]:
    """The submits whose task holds no annotation with the label clicked."""
    return [s for s in submits if s.how != "refused" and ([s.label], False) not in saved.get(s.task_id, [])]


def add_annotator(url: str, email: str, password: str) -> httpx.Client:
    """Sign a new user up through Label Studio's own sign-up form (they join its organization); returns an HTTP
    client logged in as them (close it)."""
    http = httpx.Client(base_url=url, timeout=60, follow_redirects=False)
    http.get("/user/signup/").raise_for_status()
    answer = http.post(
        "/user/signup/",
        data={
            "email": email,
            "password": password,
            "csrfmiddlewaretoken": http.cookies["csrftoken"],
            "allow_newsletters": "false",
            "how_find_us": "",
            "elaborate": "",
        },
        headers={"Referer": f"{url}/user/signup/"},
    )
    if answer.status_code not in (301, 302):
        http.close()
        raise AssertionError(f"Label Studio did not sign up {email}: HTTP {answer.status_code} {answer.text[:300]}")
    return http
