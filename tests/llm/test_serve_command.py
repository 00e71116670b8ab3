"""`raregraph llm serve-command`: the vLLM launch line for a base model plus LoRA adapters, from settings."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from raregraph.api.cli import app
from raregraph.settings import Settings
from raregraph.llm.serve_command import ServeCommandError, serve_command

runner = CliRunner()
ENV = {
    "RAREGRAPH_LLM_BASE_MODEL": "meta-llama/Llama-3.3-70B-Instruct",
    "RAREGRAPH_LLM_LORA_MODULES": '["rare-dx=/models/rare-dx-lora", "rare-dx-v2=/models/v2"]',
    "RAREGRAPH_LLM_MAX_LORA_RANK": "32",
    "RAREGRAPH_LLM_TENSOR_PARALLEL_SIZE": "4",
    "RAREGRAPH_LLM_MODEL": "rare-dx",
    "RAREGRAPH_LLM_MAX_MODEL_LEN": "16384",
}


def test_serve_command_prints_the_vllm_line() -> None:
    result = runner.invoke(app, ["llm", "serve-command"], env=ENV)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "vllm serve meta-llama/Llama-3.3-70B-Instruct --enable-lora --lora-modules rare-dx=/models/rare-dx-lora "
        "rare-dx-v2=/models/v2 --max-lora-rank 32 --tensor-parallel-size 4 --host 0.0.0.0 --port 8000 "
        "--max-model-len 16384"
    )
    argv = json.loads(runner.invoke(app, ["llm", "serve-command", "--json"], env=ENV).stdout)
    assert argv[:3] == ["vllm", "serve", "meta-llama/Llama-3.3-70B-Instruct"]


def test_the_api_key_goes_in_the_environment_never_in_argv() -> None:
    command = serve_command(Settings(_env_file=None, llm_base_model="base", llm_api_key="s3cret"))  # type: ignore[call-arg]
    assert "s3cret" not in " ".join(command.argv) and command.env == {"VLLM_API_KEY": "s3cret"}
    assert "s3cret" not in command.shell() and command.shell().startswith('VLLM_API_KEY="$RAREGRAPH_LLM_API_KEY" vllm')
    assert "--enable-lora" not in command.argv  # no adapters: the base model alone


@pytest.mark.parametrize(("fields", "message"), [
    ({}, "RAREGRAPH_LLM_BASE_MODEL"),
    ({"llm_base_model": "b", "llm_lora_modules": ["no-equals-sign"]}, "NAME=PATH"),
    ({"llm_base_model": "b", "llm_lora_modules": ["a=/x", "a=/y"]}, "repeat"),
    ({"llm_base_model": "b", "llm_lora_modules": ["a=/x"], "llm_model": "zzz"}, "neither a served adapter"),
])
def test_bad_settings_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ServeCommandError, match=message):
        serve_command(Settings(_env_file=None, **fields))  # type: ignore[arg-type]


@pytest.mark.skipif(shutil.which("vllm") is not None, reason="vllm is installed here: --run would start it")
def test_run_without_vllm_installed_says_so() -> None:
    result = runner.invoke(app, ["llm", "serve-command", "--run"], env=ENV)
    assert result.exit_code == 1 and "vllm is not installed" in result.stderr
