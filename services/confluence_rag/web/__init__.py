"""HTTP plumbing both FastAPI apps (query API and ingest worker) share: error bodies, headers, docs."""
