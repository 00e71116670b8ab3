"""GET /healthz (process up), /readyz (ranking index and text linking loaded), /v1/snapshot (the active snapshot's manifest)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from raregraph.api.http.deps import RuntimeDep, ServiceDep
from raregraph.api.http.public_manifest import public_manifest
from raregraph.errors import GraphUnavailableError

__all__ = ["router", "Health", "Readiness", "SnapshotOut"]

router = APIRouter(tags=["meta"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    snapshot_id: str
    graph: str = Field(description="The graph implementation serving lookups, e.g. EmbeddedGraph")
    load_seconds: float | None = Field(None, description="Time to open the snapshot and load the ranking index")
    text_linking: str = Field(description="ready | failed: … (text linking loads after ranking; 503 until it has)")
    embedding: str = Field(description="The embedding tier of text linking: on (model and index loaded) | off: … | "
                                       "unavailable: … | not loaded (after a failed load); all but on link by the "
                                       "exact tier alone")
    text_load_seconds: float | None = Field(None, description="Time to load text linking (embedding model and index)")


class SnapshotOut(BaseModel):
    snapshot_id: str
    manifest: dict[str, Any] = Field(description="manifest.json: sources with file names, releases and sha256, row "
                                                 "counts, build (no server paths)")


@router.get("/healthz", response_model=Health, summary="The process is up (no key needed)")
async def healthz() -> Health:
    return Health()


@router.get("/readyz", response_model=Readiness, summary="The ranking index and text linking are loaded (503 until then)")
async def readyz(runtime: RuntimeDep) -> Readiness:
    service = runtime.require()  # 503 graph-unavailable while loading or after a failed load
    if runtime.text_state in ("waiting", "loading"):
        # Ranking works already, but a text request would pay for loading the embedding model (seconds, ~1 GB).
        raise GraphUnavailableError("text linking is still loading (the embedding model and index); retry shortly")
    return Readiness(snapshot_id=service.snapshot_id, graph=type(service.graph).__name__,
                     load_seconds=runtime.load_seconds, text_linking=runtime.text_state,
                     embedding=service.linker.embedding_status if service.linker.loaded else "not loaded",
                     text_load_seconds=runtime.text_load_seconds)


@router.get("/v1/snapshot", response_model=SnapshotOut, summary="The active snapshot's manifest")
async def snapshot(service: ServiceDep) -> SnapshotOut:
    return SnapshotOut(snapshot_id=service.snapshot_id, manifest=public_manifest(service.graph.manifest()))
