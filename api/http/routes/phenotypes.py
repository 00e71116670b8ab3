"""POST /v1/phenotypes/extract: free text → linked HPO terms with assertion status, tier and score."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from raregraph.api.http.deps import RuntimeDep, ServiceDep, SettingsDep
from raregraph.models import ExtractionOut, ExtractRequest
from raregraph.retrieval.retriever import Retriever

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["phenotypes"])


def _extract_json(service: Retriever, text: str) -> bytes:
    return service.extract(text).model_dump_json().encode()


@router.post(
    "/phenotypes/extract", response_model=ExtractionOut,
    summary="Phenotype mentions of clinical text linked to HPO terms (negation, family history, uncertainty)",
)
async def extract(body: Annotated[ExtractRequest, Body(openapi_examples={"note": {"summary": "A clinical note", "value": {
    "text": "Seizures since age 2, no hypotonia. Her brother has scoliosis."}}})], service: ServiceDep, runtime: RuntimeDep, settings: SettingsDep) -> Response:
    if len(body.text) > settings.api_max_text_chars:
        raise RequestValidationError([{
            "type": "too_long", "loc": ("body", "text"), "input": len(body.text),
            "msg": f"{len(body.text)} characters, over the limit of {settings.api_max_text_chars} "
                   "(RAREGRAPH_API_MAX_TEXT_CHARS)",
        }])
    return Response(await runtime.run(_extract_json, service, body.text, text=True), media_type="application/json")
