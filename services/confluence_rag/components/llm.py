"""The LLM, reached through LiteLLM; `None` when no model is configured (extractive mode)."""

from __future__ import annotations

import logging

from confluence_rag.settings import Settings

log = logging.getLogger(__name__)


def build_llm(settings: Settings):
    if not settings.llm_configured:
        return None
    import litellm
    from llama_index.llms.litellm import LiteLLM

    litellm.suppress_debug_info = True
    # Unknown models otherwise get a silent 2048-token context window in LlamaIndex.
    try:
        litellm.get_model_info(settings.llm_model)
    except Exception:
        provider = settings.llm_model.split("/", 1)[0] if "/" in settings.llm_model else "openai"
        litellm.register_model(
            {
                settings.llm_model: {
                    "max_input_tokens": settings.llm_context_window,
                    "max_output_tokens": settings.llm_max_tokens,
                    "max_tokens": settings.llm_max_tokens,
                    "litellm_provider": provider,
                    "mode": "chat",
                    "input_cost_per_token": 0,
                    "output_cost_per_token": 0,
                }
            }
        )
    log.info("LLM: %s", settings.llm_model)
    return LiteLLM(
        model=settings.llm_model,
        api_base=settings.llm_api_base or None,
        api_key=settings.llm_api_key.get_secret_value() or None,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        # One retry layer, LlamaIndex's (tenacity, 4-10 s apart), which counts attempts: LLM_MAX_RETRIES
        # retries = that many + 1 attempts. The OpenAI SDK under LiteLLM would add 2 retries of its own
        # per attempt: LiteLLM passes `num_retries` on as the SDK's max_retries, and 0 also keeps
        # LiteLLM's own retry wrapper off. A hanging backend is cut by the explicit timeout instead of
        # LiteLLM's default of 10 minutes.
        max_retries=max(0, settings.llm_max_retries) + 1,
        additional_kwargs={"timeout": settings.llm_timeout_s, "num_retries": 0},
    )
