"""Remote generation through an OpenAI-compatible server (vLLM with our LoRA adapter, llama.cpp).

Requests go out concurrently (a thread pool, at most `concurrency` in flight) over one httpx client;
429, 5xx, timeouts and dropped connections are retried with exponential backoff (honouring
Retry-After). Other 4xx answers are configuration errors and stop the job with the server's message.

A server that is to write as an adapter must prove it before the job writes a draft: it lists the
adapter's name, and its greedy answer to the adapter's probe (recorded when the adapter was
published, `training.probe`) follows the adapter's own. A server that serves another adapter, or
the base model under the adapter's name (llama.cpp's server answers an unknown name with its first
model), is refused with both named.
"""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from brandvoice.config import env_value
from brandvoice.errors import ConfigError, ModelError
from brandvoice.generation.protocol import GenOutput, GenRequest

if TYPE_CHECKING:  # pragma: no cover
    from brandvoice.config import Settings

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


def adapter_model_name(adapter) -> str:
    """The served model name we document for an adapter: '<name>-v<version>' (vLLM --lora-modules)."""
    return f"{adapter.name}-v{adapter.version}"


def _base(url: str) -> str:
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


class OpenAIBackend:
    """Sends rendered messages to `<server_url>/v1/chat/completions` (or /v1/completions)."""

    def __init__(self, server_url: str, model: str | None, config, *, api_key: str | None = None,
                 tokenizer: Any = None, log=None, sleep=time.sleep, adapter=None):
        import httpx

        self.config = config
        self.base_url = _base(server_url)
        self.tokenizer = tokenizer
        self.log = log or (lambda _line: None)
        self._sleep = sleep
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=self.base_url, headers=headers,
                                   timeout=httpx.Timeout(config.timeout, connect=10.0),
                                   limits=httpx.Limits(max_connections=config.concurrency))
        self.pool = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="bv-remote")
        try:
            self.model = self._pick_model(model, listed=adapter is not None)
            self.label = f"openai:{self.model}@{self.base_url}"
            self.retries = 0
            self.info = {"backend": "openai", "server_url": self.base_url, "model": self.model,
                         "endpoint": config.endpoint, "concurrency": config.concurrency}
            if adapter is not None:
                self.info["probe"] = self.verify(adapter)
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_config(cls, config, settings: Settings, *, adapter=None, base_model: str | None = None,
                    log=None) -> OpenAIBackend:
        """A backend for the server and model named in a GenerationConfig."""
        if not config.server_url:
            raise ConfigError("The openai backend needs a server URL.",
                              hint="Pass --server-url http://host:8000 (vLLM or llama.cpp server).")
        api_key = env_value(config.api_key_env) if config.api_key_env else None
        wanted = config.model or (adapter_model_name(adapter) if adapter is not None else None)
        tokenizer = None
        if config.endpoint == "completions":  # the chat template is applied here, not by the server
            from brandvoice import models

            tokenizer = models.load_tokenizer(base_model or (adapter.base_model if adapter else None)
                                              or settings.base_model, settings)
        return cls(config.server_url, wanted, config, api_key=api_key, tokenizer=tokenizer, log=log,
                   adapter=adapter)

    def _pick_model(self, wanted: str | None, *, listed: bool = False) -> str:
        """Check the server is up and serves `wanted` (`listed`: it must list it by name); with no
        name, take the only model it serves."""
        import httpx

        try:
            resp = self._request("GET", "/v1/models")
        except httpx.HTTPError as exc:
            raise ModelError(f"Cannot reach the generation server at {self.base_url}: {exc}",
                             hint="Start it (see docs/generation.md: vLLM / llama.cpp commands) or fix --server-url.") from exc
        served = [m.get("id") for m in (resp.json().get("data") or []) if isinstance(m, dict)]
        if wanted and (wanted in served or (not served and not listed)):
            return wanted
        if not wanted and len(served) == 1:
            return served[0]
        raise ModelError(
            f"The server at {self.base_url} does not serve model {wanted!r}; it serves: "
            f"{', '.join(map(str, served)) or '(nothing listed)'}.",
            hint="Pass --model with one of those names, or serve the adapter under that name "
            "(vLLM: --lora-modules NAME=ADAPTER_DIR).")

    def verify(self, adapter) -> dict:
        """Refuse (ModelError) a server whose greedy answer to the adapter's probe is not the
        adapter's own; returns what was checked."""
        from brandvoice.training import probe as probe_mod

        who = f"The server at {self.base_url} (model {self.model!r})"
        probe = (getattr(adapter, "manifest", None) or {}).get("probe")
        if not probe or not probe.get("answer"):
            raise ModelError(f"{who} cannot be checked to serve adapter {adapter.label}: the "
                             "adapter has no recorded probe answer (it was published by an "
                             "earlier version of brandvoice).",
                             hint=f"Record it: `brandvoice adapters probe {adapter.name}:v"
                                  f"{adapter.version}` (or train the adapter again).")
        payload: dict[str, Any] = {"model": self.model, "max_tokens": int(probe["max_tokens"]),
                                   "temperature": 0.0, "top_p": 1.0, "seed": 0,
                                   "repetition_penalty": 1.0, "repeat_penalty": 1.0}
        if self.config.endpoint == "completions":
            from brandvoice import models

            payload["prompt"] = models.prompt_text(self.tokenizer, probe["system"], probe["user"])
            path = "/v1/completions"
        else:
            payload["messages"] = [{"role": "system", "content": probe["system"]},
                                   {"role": "user", "content": probe["user"]}]
            path = "/v1/chat/completions"
        import httpx

        try:
            choice = self._request("POST", path, payload).json()["choices"][0]
            served = choice["text"] if "text" in choice else choice["message"]["content"]
        except httpx.HTTPError as exc:
            raise ModelError(f"{who} did not answer the probe of adapter {adapter.label}: {exc}",
                             hint="Check the server; nothing was written.") from exc
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ModelError(f"{who} sent no answer to the probe of adapter {adapter.label}.",
                             hint="Is --server-url an OpenAI-compatible server?") from exc
        why = probe_mod.mismatch(probe, served or "")
        if why is not None:
            raise ModelError(f"{who} does not serve adapter {adapter.label}: {why}. No draft was "
                             "written.",
                             hint="Serve the adapter under that name (`brandvoice adapters export "
                                  "--format vllm|gguf` writes what vLLM or llama.cpp needs), or "
                                  "pass --model with the name it is served under.")
        self.log(f"{who} serves adapter {adapter.label}: its answer to the probe is the adapter's.")
        return {"adapter": adapter.label, "matched": True}

    def _request(self, method: str, path: str, payload: dict | None = None):
        """One HTTP call with retries on 429/5xx/timeouts; raises ModelError on other failures."""
        import httpx

        attempts = self.config.http_retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                resp = self.client.request(method, path, json=payload)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if last:
                    raise
                self._backoff(attempt, None, f"{type(exc).__name__}: {exc}")
                continue
            if resp.status_code in RETRY_STATUS and not last:
                self._backoff(attempt, resp.headers.get("retry-after"), f"HTTP {resp.status_code}")
                continue
            if resp.status_code >= 400:
                raise ModelError(f"The generation server answered {method} {path} with HTTP "
                                 f"{resp.status_code}: {resp.text[:500]}",
                                 hint="Check --model, --server-url and the server's log.")
            return resp
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int, retry_after: str | None, why: str) -> None:
        self.retries += 1
        delay = self.config.backoff * (2 ** attempt) * (1 + random.random() * 0.25)
        if retry_after:
            try:
                delay = max(delay, min(float(retry_after), 60.0))
            except ValueError:
                pass
        self.log(f"Server busy or failing ({why}); retrying in {delay:.1f} s.")
        self._sleep(delay)

    def _payload(self, req: GenRequest) -> tuple[dict, str]:
        c = self.config
        payload: dict[str, Any] = {
            "model": self.model, "max_tokens": req.max_new_tokens or c.max_new_tokens,
            "temperature": c.temperature,
            "top_p": c.top_p, "seed": req.seed,
            # vLLM reads these two as sampling extras; llama.cpp reads top_k and repeat_penalty.
            "top_k": c.top_k, "repetition_penalty": c.repetition_penalty,
            "repeat_penalty": c.repetition_penalty,
        }
        if req.lines == 1:  # a server stops at a string, it does not count lines: the budget does
            payload["stop"] = ["\n"]
        if c.endpoint == "completions":
            from brandvoice import models

            prompt = models.prompt_text(self.tokenizer, req.system, req.user) + req.prime
            payload["prompt"] = prompt
            return payload, prompt
        payload["messages"] = req.messages
        return payload, json.dumps(req.messages, ensure_ascii=False)

    def _one(self, req: GenRequest) -> GenOutput:
        payload, prompt = self._payload(req)
        path = "/v1/completions" if self.config.endpoint == "completions" else "/v1/chat/completions"
        import httpx

        try:
            data = self._request("POST", path, payload).json()
        except httpx.HTTPError as exc:
            raise ModelError(f"The generation server at {self.base_url} failed after "
                             f"{self.config.http_retries} retries: {exc}",
                             hint="Check the server; run the job again to finish the rest.") from exc
        try:
            choice = data["choices"][0]
            if "text" in choice:  # completions: the prompt primed the answer with "Subject:"
                from brandvoice.prompting import shape

                text = shape.ANSWER_PREFIX + (choice["text"] or "")
            else:
                text = choice["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise ModelError(f"The generation server sent an answer without choices: {str(data)[:300]}",
                             hint="Is --server-url an OpenAI-compatible server?") from exc
        usage = data.get("usage") or {}
        return GenOutput(text=text or "", prompt=prompt,
                         new_tokens=int(usage.get("completion_tokens") or 0),
                         finish_reason=choice.get("finish_reason") or "stop")

    def generate(self, requests: list[GenRequest]) -> list[GenOutput]:
        """All requests concurrently (at most `concurrency` in flight), answers in request order."""
        return list(self.pool.map(self._one, requests))

    def close(self) -> None:
        """Stop the threads and close the connections."""
        self.pool.shutdown(wait=True)
        self.client.close()
