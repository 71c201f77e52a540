"""/setup cannot redirect a project, take it over, or send its token elsewhere: the backend trusts one Label Studio.

The Label Studios here are small HTTP stubs of the two calls textal makes while checking a /setup (whoami, the
project's creation time), so that each test controls what "the real Label Studio" confirms.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">'
    '<Choice value="ham"/><Choice value="spam"/></Choices></View>'
)
GOOD, OTHER = "g" * 40, "o" * 40


class StubStudio:
    """Answers whoami for ``tokens`` and each project's ``created_at`` (epoch seconds); records every request."""

    def __init__(self, tokens: set[str], created: dict[int, int]) -> None:
        self.tokens, self.created, self.seen = tokens, created, []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                stub.seen.append((self.path, self.headers.get("Authorization")))
                token = (self.headers.get("Authorization") or "").removeprefix("Token ")
                if token not in stub.tokens:
                    return self._answer(401, {"detail": "bad token"})
                if self.path.startswith("/api/current-user/whoami"):
                    return self._answer(200, {"id": 1})
                if self.path.startswith("/api/ml/"):
                    return self._answer(200, [])
                pid = int(self.path.strip("/").split("/")[2])
                if pid not in stub.created:
                    return self._answer(404, {})
                when = datetime.fromtimestamp(stub.created[pid], tz=timezone.utc).isoformat()
                return self._answer(200, {"id": pid, "created_at": when, "label_config": CONFIG})

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def studios():
    made = []

    def make(tokens=(GOOD,), created=None) -> StubStudio:
        stub = StubStudio(set(tokens), dict(created or {}))
        made.append(stub)
        return stub

    yield make
    for stub in made:
        stub.server.shutdown()


def setup(client, project, hostname=None, token=None):
    body = {"project": project, "schema": CONFIG}
    if hostname is not None:
        body["hostname"] = hostname
    if token is not None:
        body["access_token"] = token
    return client.post("/setup", json=body)


def test_a_setup_naming_another_host_without_a_token_is_refused_and_the_token_never_leaves(
    make_client, store_dir, tmp_path, studios
):
    real, attacker = studios(), studios(tokens=())
    c = make_client(store_dir, data_dir=tmp_path / "d")
    assert setup(c, "5.100", real.url, GOOD).status_code == 200
    answer = setup(c, "5", attacker.url)  # a bare id, another host, no token: the SSRF of the finding
    assert answer.status_code == 403 and real.url in answer.json()["error"]
    state = c.app.state.backend.projects.get(5)
    assert state.hostname == real.url and c.app.state.backend.projects.access_token(5) == GOOD
    assert attacker.seen == []


def test_with_a_configured_label_studio_a_setup_naming_another_is_refused_even_for_a_new_project(
    make_client, store_dir, tmp_path, studios
):
    real, attacker = studios(created={6: 100}), studios()
    c = make_client(store_dir, data_dir=tmp_path / "d", LABEL_STUDIO_URL=real.url)
    answer = setup(c, "6.100", attacker.url, GOOD)
    assert answer.status_code == 403 and "LABEL_STUDIO_URL" in answer.json()["error"]
    assert c.app.state.backend.projects.get(6) is None
    assert setup(c, "6.100", real.url + "/", GOOD).status_code == 200


def test_following_setup_to_another_host_needs_the_opt_in_and_a_token_and_is_logged(
    make_client, store_dir, tmp_path, studios, caplog
):
    first, second = studios(), studios()
    c = make_client(store_dir, data_dir=tmp_path / "d", TEXTAL_TRUST_SETUP_HOSTNAME="1")
    assert setup(c, "7.100", first.url, GOOD).status_code == 200
    assert setup(c, "7.100", second.url).status_code == 403  # never the stored token to a new host
    with caplog.at_level(logging.WARNING, logger="ml_backend.server"):
        assert setup(c, "7.100", second.url, GOOD).status_code == 200
    assert c.app.state.backend.projects.get(7).hostname == second.url
    assert "TEXTAL_TRUST_SETUP_HOSTNAME" in caplog.text


def test_a_new_token_is_stored_only_when_the_label_studio_accepts_it(make_client, store_dir, tmp_path, studios):
    real = studios(tokens=(GOOD, OTHER))
    c = make_client(store_dir, data_dir=tmp_path / "d")
    assert setup(c, "8.100", real.url, GOOD).status_code == 200
    assert setup(c, "8.100", real.url, "x" * 40).status_code == 403
    assert c.app.state.backend.projects.access_token(8) == GOOD
    assert setup(c, "8.100", real.url, OTHER).status_code == 200
    assert c.app.state.backend.projects.access_token(8) == OTHER


def test_a_new_epoch_retires_the_project_only_when_label_studio_confirms_it_was_recreated(
    make_client, store_dir, tmp_path, studios
):
    real = studios(created={9: 100})
    c = make_client(store_dir, data_dir=tmp_path / "d")
    assert setup(c, "9.100", real.url, GOOD).status_code == 200
    answer = setup(c, "9.200", real.url)  # the take-over of the finding: same id, another epoch
    assert answer.status_code == 409
    assert c.post("/predict", json={"tasks": [], "project": "9.100"}).status_code == 200  # still served
    real.created[9] = 200  # Label Studio's database was recreated: project 9 is new
    assert setup(c, "9.200", real.url, GOOD).status_code == 200
    assert [p.name.split("-")[0] for p in (tmp_path / "d" / "projects" / ".retired").iterdir()] == ["9.100"]
    assert c.post("/predict", json={"tasks": [], "project": "9.100"}).status_code == 404


@pytest.mark.parametrize("hostname", ["http://admin:hunter2@127.0.0.1:8080", "ftp://127.0.0.1", "http://"])
def test_a_hostname_with_credentials_or_another_scheme_is_refused_and_never_logged(
    make_client, store_dir, tmp_path, hostname, caplog
):
    c = make_client(store_dir, data_dir=tmp_path / "d")
    with caplog.at_level(logging.DEBUG):
        answer = setup(c, "10.100", hostname, GOOD)
    assert answer.status_code == 400 and "hostname" in answer.json()["error"]
    assert "hunter2" not in caplog.text + answer.text


def test_the_number_of_projects_is_bounded(make_client, store_dir, tmp_path):
    c = make_client(store_dir, data_dir=tmp_path / "d", TEXTAL_MAX_PROJECTS="2")
    assert setup(c, "1.1").status_code == 200 and setup(c, "2.1").status_code == 200
    answer = setup(c, "3.1")
    assert answer.status_code == 403 and "TEXTAL_MAX_PROJECTS" in answer.json()["error"]
    assert setup(c, "2.1").status_code == 200  # a known project still reconnects


def test_label_config_size_and_choices_are_bounded_and_reasons_do_not_grow_with_them(make_client, store_dir, tmp_path):
    c = make_client(store_dir, data_dir=tmp_path / "d", TEXTAL_MAX_CHOICES="3000")
    huge = CONFIG.replace("<View>", "<View><!--" + "x" * 300_000 + "-->")
    answer = c.post("/setup", json={"project": "11.1", "schema": huge})
    assert answer.status_code == 413 and "TEXTAL_MAX_CONFIG_KB" in answer.json()["error"]
    many = (
        '<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">'
        + "".join(f'<Choice value="c{i}"/>' for i in range(3001))
        + "</Choices></View>"
    )
    answer = c.post("/setup", json={"project": "11.1", "schema": many})
    assert answer.status_code == 413 and "TEXTAL_MAX_CHOICES" in answer.json()["error"]
    fewer = many.replace('<Choice value="c3000"/>', "")  # 3,000 choices, none of them the model's labels
    assert c.post("/setup", json={"project": "11.1", "schema": fewer}).status_code == 200
    tasks = [{"id": i, "data": {"text": f"text {i}"}} for i in range(50)]
    answer = c.post("/predict", json={"tasks": tasks, "project": "11.1"})
    assert answer.status_code == 200 and len(answer.content) < 50 * 600  # not 50 copies of 3,000 choices


def test_versions_of_unknown_projects_are_a_404_and_keep_nothing_in_memory(make_client, store_dir, tmp_path):
    c = make_client(store_dir, data_dir=tmp_path / "d")
    for pid in range(1, 200):
        assert c.get(f"/versions?project={pid}").status_code == 404
    assert c.app.state.backend.models._slots == {}


def test_a_token_that_cannot_be_an_http_header_is_a_400_not_a_500(make_client, store_dir, tmp_path, studios):
    real = studios()
    c = make_client(store_dir, data_dir=tmp_path / "d")
    assert setup(c, "12.1", real.url, GOOD).status_code == 200
    answer = setup(c, "12.1", real.url, "tok\x80en")  # found by the fuzz tests: it reached the header encoder
    assert answer.status_code == 400 and "printable ASCII" in answer.json()["error"]
