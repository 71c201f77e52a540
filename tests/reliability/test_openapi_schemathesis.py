"""schemathesis drives every operation of /openapi.json with requests generated from it, valid and invalid: no 5xx,
every status and body as the document says, and what the document calls invalid refused."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from ml_backend.config import ServerSettings
from ml_backend.server.app import create_app

CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">'
    '<Choice value="ham"/><Choice value="spam"/></Choices></View>'
)


def _app():
    import tempfile
    from pathlib import Path

    from fastapi.testclient import TestClient

    root = Path(tempfile.mkdtemp(prefix="textal-schemathesis-"))
    app = create_app(ServerSettings.create(root / "store", root / "data", environ={"TEXTAL_MAX_PROJECTS": "20"}))
    with TestClient(app) as client:  # one project set up, so that generated ids sometimes name it
        assert client.post("/setup", json={"project": "1.1", "schema": CONFIG}).status_code == 200
    return app


CHECKS = SchemathesisConfig.from_dict(
    {
        "checks": {
            # a well-formed request for a project Label Studio never set up here is rightly a 404, not "accepted"
            "positive_data_acceptance": {"enabled": False},
            # over a documented limit (maxItems, maxLength) is a 413 that names the setting
            "negative_data_rejection": {"expected-statuses": [400, 401, 403, 404, 405, 408, 413, 415, 422]},
        }
    }
)
schema = schemathesis.openapi.from_asgi("/openapi.json", _app(), config=CHECKS)


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_its_openapi_document_says(case):
    case.call_and_validate()
