"""The WhatsApp-and-Messenger workspace every Meta test starts from; a module that needs
more of the Graph API stand-in (media, CDN files, slow answers) overrides `graph`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import WorkspaceFixture
from tests.support.meta import configure_meta
from tests.support.meta_graph import GraphServer, running_graph
from tests.support.meta_workspace import MetaWorkspace
from threadline.bootstrap import Runtime


@pytest.fixture
def graph() -> Iterator[GraphServer]:
    with running_graph() as server:
        yield server


@pytest.fixture
async def meta(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    graph: GraphServer,
    tmp_path: Path,
) -> MetaWorkspace:
    inboxes = await configure_meta(runtime, workspace, graph, tmp_path)
    return MetaWorkspace(client, runtime, workspace, graph, inboxes, tmp_path)
