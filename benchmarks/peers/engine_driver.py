"""Driver for this engine: `raregraph`'s own service, timed per case like the peers.

Runs in the project virtualenv, started by benchmarks/ranking.py with `RAREGRAPH_SNAPSHOT` set
to the protocol's snapshot folder:

    RAREGRAPH_SNAPSHOT=DIR python engine_driver.py --cases C.jsonl --out R.jsonl --meta M.json [--top 100]

`build_service(Settings())` (snapshot open and ranking-index load) is timed once as `load_s`;
each case is `CaseRequest.model_validate(line)` (so whatever fields the model accepts, variants
included, flow through) and `service.rank_line(request, top=N)`, timed per case (wall `seconds`
and process CPU `cpu_seconds`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--meta", type=Path, required=True)
    parser.add_argument("--top", type=int, default=100)
    args = parser.parse_args()

    t0 = time.perf_counter()
    from pydantic import ValidationError
    from raregraph.models import CaseRequest
    from raregraph.api.service import build_service
    from raregraph.settings import Settings

    settings = Settings()
    service = build_service(settings)
    load_s = time.perf_counter() - t0

    lines = [line for line in args.cases.read_text(encoding="utf-8").splitlines() if line.strip()]
    started = time.perf_counter()
    with args.out.open("w", encoding="utf-8") as sink:
        for lineno, text in enumerate(lines, start=1):
            case = json.loads(text)
            case_id = str(case.get("id") or f"line-{lineno}")
            t1, c1 = time.perf_counter(), time.process_time()
            try:
                request = CaseRequest.model_validate(case)
            except ValidationError as err:
                result = {"id": case_id, "ranking": [], "warnings": [f"line {lineno}: {err.errors()[0]['msg']}"]}
            else:
                if request.id is None:
                    request.id = case_id
                result = service.rank_line(request, top=args.top).model_dump(mode="json")
            result["seconds"] = time.perf_counter() - t1
            result["cpu_seconds"] = time.process_time() - c1
            sink.write(json.dumps(result) + "\n")

    fields = sorted(CaseRequest.model_fields)
    meta = {
        "library": "raregraph", "snapshot_id": service.snapshot_id,
        "ranker": type(getattr(service, "ranker", None)).__name__ if hasattr(service, "ranker") else None,
        "case_fields_used": fields, "load_s": load_s, "rank_wall_s": time.perf_counter() - started,
        "n_cases": len(lines),
    }
    args.meta.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
