"""Question answering over Confluence: ingest worker and query API.

Importing the package pins the offline and no-telemetry switches before any heavy library
(litellm, transformers, onnxruntime, chromadb) is imported: litellm fetches a cost map from the
internet at import time unless LITELLM_LOCAL_MODEL_COST_MAP is set, onnxruntime phones home unless
ORT_DISABLE_TELEMETRY is set, and nothing may download a model at run time.
"""

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "ORT_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}
for _name, _value in OFFLINE_ENV.items():
    os.environ.setdefault(_name, _value)
