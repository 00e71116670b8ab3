"""The optional LLM step: prompt from the grounded retrieval result, structured answer, re-grounding.

`llm.diagnose` runs the step on a retrieval response (`llm_step`, `llm_rerank`; `api.pipeline` calls it); the
client speaks the OpenAI chat-completions protocol (vLLM in production, a LoRA adapter addressed
by name); `llm.serve_command` prints the vLLM launch line. The model is never trusted: every
disease it names is resolved to a graph id or dropped, and any failure returns the retrieval
ranking with `llm.status` saying why.
"""
