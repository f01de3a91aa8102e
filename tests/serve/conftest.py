"""A real ``tqse serve`` on a free loopback port with a tiny random model (fixtures; helpers in serve_helpers)."""

from __future__ import annotations

import pytest
from serve_helpers import Client, start

from tqse.serve.server import stop


@pytest.fixture(scope="module")
def server(tiny_model):
    srv = start(tiny_model, max_queue=32)
    yield srv
    stop(srv)


@pytest.fixture
def client(server) -> Client:
    return Client(server)
