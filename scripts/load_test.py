"""Load test of the web app: many concurrent users on POST /api/ask, then the same users chatting through the
Gradio queue, and a check that the rate limiter answers 429 with a clear message.

    python scripts/load_test.py                         # starts `python app.py` on a free loopback port (real model)
    python scripts/load_test.py --users 50 --questions 20 --max-seconds 900
    python scripts/load_test.py --url http://127.0.0.1:7860 --users 10 --questions 5

Both phases are closed loops: each user asks its next question as soon as the previous answer arrived. In the
chat phase each user is one browser page: one Gradio session, one conversation of ``--questions`` turns, the
event's inputs sent as the page sends them (read from the app's /config).

Without ``--url`` the script starts the app itself (real embedder, extractive backend, the project index,
a temporary feedback DB) with ``RAG_RATE_LIMIT_PER_MINUTE`` raised so that the run stays under the limit,
and stops it afterwards. Questions are drawn (seeded) from eval/golden.jsonl. Everything is bounded:
``--timeout`` per request, ``--max-seconds`` for the whole load phase (unfinished requests are counted).

The rate-limit check starts a second, small app (fake embedder, temporary index, limit ``--limit`` per
minute) and expects exactly ``--limit`` answers followed by 429 ``rate_limited`` with ``Retry-After``.

Prints throughput, latency p50/p95/p99/max and errors by status; ``--json FILE`` also writes the numbers.
Exit status 0 only when every request succeeded (and the limiter check passed).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ helpers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    if not values:
        return float("nan")
    xs = sorted(values)
    k = max(1, min(len(xs), int(-(-p * len(xs) // 100))))     # ceil(p/100 * n)
    return xs[k - 1]


def latency_summary(lat: list[float]) -> dict:
    """p50/p95/p99/max/mean of latencies in seconds (rounded to ms)."""
    return {"p50": round(percentile(lat, 50), 3), "p95": round(percentile(lat, 95), 3),
            "p99": round(percentile(lat, 99), 3), "max": round(max(lat), 3) if lat else None,
            "mean": round(sum(lat) / len(lat), 3) if lat else None}


def tally(outcome: Counter, ok_key: str, total: int, wall: float, lat: list[float]) -> dict:
    """A closed-loop phase's result: requests not finished within max-seconds count as errors."""
    finished = sum(outcome.values())
    if finished < total:
        outcome["not-finished (max-seconds)"] += total - finished
    ok = outcome.get(ok_key, 0)
    return {"ok": ok, "errors": {k: v for k, v in outcome.items() if k != ok_key},
            "wall_s": round(wall, 1), "throughput_rps": round(ok / wall, 2) if wall else 0.0,
            "latency_s": latency_summary(lat)}


async def run_bounded(coros: list, max_seconds: float) -> float:
    """Run the coroutines concurrently for at most ``max_seconds``, cancel the rest; wall seconds."""
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(c) for c in coros]
    _, pending = await asyncio.wait(tasks, timeout=max_seconds)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return time.perf_counter() - t0


def load_questions(path: Path) -> list[str]:
    """The questions of a golden file (eval/golden.py checks it); a clear exit when it is unusable."""
    sys.path.insert(0, str(ROOT))
    from eval.golden import GoldenError, load_golden

    try:
        return [item["question"] for item in load_golden(path)]
    except GoldenError as e:
        raise SystemExit(f"load_test: {e}") from None


def proc_tree(pid: int) -> list[int]:
    """The process and its descendants (the app answers in a forked child by default)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except (OSError, ValueError):
                pass
    return out


def proc_rss_mb(pid: int) -> float | None:
    """Memory of the process tree: the sum of proportional set sizes (pages a fork shares are counted once)."""
    total = None
    for p in proc_tree(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total = (total or 0) + int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def proc_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) of the process tree."""
    total = None
    for p in proc_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total = (total or 0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


@contextmanager
def app_server(env_over: dict, start_timeout: float, label: str):
    """``python app.py`` on a free loopback port; yields (base url, pid); always stopped afterwards."""
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="yc-load-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RAG_FEEDBACK_DB": str(tmp / "feedback.sqlite3"), **env_over}
    log_path = tmp / "app.log"
    log = open(log_path, "w+", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    ok = False
    try:
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise SystemExit(f"[{label}] app.py exited with {proc.returncode}:\n{log.read()[-3000:]}")
            try:
                r = httpx.get(url + "/api/health", timeout=2)
                if r.status_code == 200 and r.json().get("status") == "ok":
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() - t0 > start_timeout:
                log.seek(0)
                raise SystemExit(f"[{label}] app.py not healthy after {start_timeout:.0f} s:\n{log.read()[-3000:]}")
            time.sleep(0.5)
        print(f"[{label}] server {url} (pid {proc.pid}) ready in {time.monotonic() - t0:.1f} s", flush=True)
        yield url, proc.pid
        ok = True
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"[{label}] server log kept: {log_path}", file=sys.stderr)


# ------------------------------------------------------------------ REST load
async def rest_load(url: str, questions: list[str], users: int, per_user: int, timeout: float,
                    max_seconds: float, seed: int) -> dict:
    """Closed loop: each user posts its next question as soon as the previous answer arrived.

    The client is aiohttp, not httpx: on this 2-core machine the load generator shares the CPU with the
    server, and httpx's AsyncClient spent ~8 ms of CPU per request (1000 requests against a fake-embedder
    app: ~8 s client CPU, p95 1.45-1.7 s at 76-88 req/s) against aiohttp's ~1.3 ms (p95 0.38 s at
    179 req/s, same app) -- the measuring tool must not be what is measured."""
    import aiohttp

    rng = random.Random(seed)
    plans = [[rng.choice(questions) for _ in range(per_user)] for _ in range(users)]
    lat: list[float] = []
    server_ms: list[float] = []
    outcome: Counter = Counter()
    bad_bodies: list[str] = []
    conn = aiohttp.TCPConnector(limit=users)
    client_timeout = aiohttp.ClientTimeout(total=timeout)

    async with aiohttp.ClientSession(url, connector=conn, timeout=client_timeout) as client:
        async def user(plan: list[str]) -> None:
            for q in plan:
                t = time.perf_counter()
                try:
                    async with client.post("/api/ask", json={"question": q, "history": []}) as r:
                        status, text = r.status, await r.text()
                except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                    outcome[type(e).__name__] += 1
                    continue
                dt = time.perf_counter() - t
                if status == 200:
                    try:
                        body = json.loads(text)
                        ok = isinstance(body.get("answer"), str) and isinstance(body.get("citations"), list)
                    except ValueError:
                        ok = False
                    if ok:
                        outcome["200"] += 1
                        lat.append(dt)
                        server_ms.append(sum((body.get("timings_ms") or {}).values()))
                    else:
                        outcome["200-bad-body"] += 1
                        bad_bodies.append(text[:200])
                else:
                    outcome[str(status)] += 1
                    if len(bad_bodies) < 5:
                        bad_bodies.append(f"{status}: {text[:200]}")

        wall = await run_bounded([user(p) for p in plans], max_seconds)

    return {"requests": users * per_user, **tally(outcome, "200", users * per_user, wall, lat),
            "server_ms": {"p50": round(percentile(server_ms, 50), 1), "p95": round(percentile(server_ms, 95), 1)},
            "sample_errors": bad_bodies[:5]}


# ------------------------------------------------------------------ Gradio queue
async def gradio_config(client) -> dict:
    for path in ("/config", "/gradio_api/config"):
        async with client.get(path) as r:
            text = await r.text()
            if r.status == 200 and "dependencies" in text:
                return json.loads(text)
    raise RuntimeError("Gradio config not found at /config")


def chat_event(config: dict) -> tuple[int, list[str]]:
    """The dependency behind the 提问 button (elem_id yc-send), i.e. the chat's respond(), and the types of
    its inputs (what the browser sends: the question, the session's state, the document filter...)."""
    send = next(c["id"] for c in config["components"] if (c.get("props") or {}).get("elem_id") == "yc-send")
    types = {c["id"]: c.get("type") for c in config["components"]}
    for i, dep in enumerate(config["dependencies"]):
        if any(t and t[0] == send for t in dep.get("targets", [])):
            return dep.get("id", i), [types.get(x) for x in dep["inputs"]]
    raise RuntimeError("chat event (yc-send click) not found in the Gradio config")


def chat_inputs(types: list[str], question: str, chat: list) -> list:
    """The event's data as the browser sends it: the textbox holds the question, a chatbot input (if the
    event takes one) the conversation so far, the state travels server-side (null), the dropdown is ""."""
    by_type = {"textbox": question, "chatbot": chat, "state": None, "dropdown": ""}
    if "textbox" not in types:
        raise RuntimeError(f"chat event has no textbox input: {types}")
    return [by_type.get(t) for t in types]


async def gradio_turn(client, fn_index: int, types: list[str], session: str, question: str,
                      chat: list) -> tuple[str, float, list]:
    """One chat turn through /gradio_api/queue/join + the SSE stream /gradio_api/queue/data.
    Returns (outcome, seconds, conversation after the turn); outcome 'ok' when the last message is an answer."""
    t = time.perf_counter()
    async with client.post("/gradio_api/queue/join", json={"data": chat_inputs(types, question, chat),
                                                           "fn_index": fn_index, "event_data": None,
                                                           "session_hash": session}) as r:
        status = r.status
        await r.read()
    if status != 200:
        return f"join {status}", time.perf_counter() - t, chat
    last = None
    async with client.get("/gradio_api/queue/data", params={"session_hash": session}) as s:
        async for raw in s.content:                     # SSE: one "data: {...}" line per message
            if raw.startswith(b"data:"):
                msg = json.loads(raw[5:])
                if msg.get("msg") == "process_completed":
                    last = msg
                    break
    dt = time.perf_counter() - t
    if last is None:
        return "no process_completed", dt, chat
    if not last.get("success"):
        return "gradio error", dt, chat
    data = (last.get("output") or {}).get("data") or []
    new_chat = next((d for d in data if isinstance(d, list)), None)
    if not new_chat:
        return "no conversation in the output", dt, chat
    reply = json.dumps(new_chat[-1], ensure_ascii=False)
    ok = ("yc-answer" in reply or "yc-refused" in reply) and "无法回答" not in reply
    return ("ok" if ok else "no answer"), dt, new_chat


async def gradio_load(url: str, questions: list[str], users: int, per_user: int, timeout: float,
                      max_seconds: float, seed: int) -> dict:
    """Closed loop like rest_load, through the chat: each user has its own Gradio session (one page) and asks
    its questions one after another in the same conversation. aiohttp again (see rest_load)."""
    import aiohttp

    rng = random.Random(seed + 1)
    plans = [[rng.choice(questions) for _ in range(per_user)] for _ in range(users)]
    lat: list[float] = []
    outcome: Counter = Counter()
    longest = 0
    async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=0),
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as client:
        fn, types = chat_event(await gradio_config(client))

        async def user(plan: list[str]) -> None:
            nonlocal longest
            session, chat = uuid.uuid4().hex[:11], []
            for q in plan:
                try:
                    res, dt, chat = await gradio_turn(client, fn, types, session, q, chat)
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
                    outcome[type(e).__name__] += 1
                    continue
                outcome[res] += 1
                if res == "ok":
                    lat.append(dt)
                longest = max(longest, len(chat))

        wall = await run_bounded([user(p) for p in plans], max_seconds)
    return {"turns": users * per_user, "users": users, **tally(outcome, "ok", users * per_user, wall, lat),
            "longest_conversation_messages": longest, "inputs": types}


# ------------------------------------------------------------------ rate limiter
def limiter_check(limit: int, start_timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="yc-limit-") as tmp:
        env = {"RAG_EMBEDDER": "fake", "RAG_INDEX_DIR": str(Path(tmp) / "index"), "RAG_BACKEND": "extractive",
               "RAG_RATE_LIMIT_PER_MINUTE": str(limit)}
        with app_server(env, start_timeout, "limit") as (url, _):
            statuses, first_429 = [], None
            with httpx.Client(base_url=url, timeout=10) as c:
                for _ in range(limit + 3):
                    r = c.post("/api/retrieve", json={"question": "“33618”是什么？", "k": 1})
                    statuses.append(r.status_code)
                    if r.status_code == 429 and first_429 is None:
                        first_429 = {"retry_after": r.headers.get("retry-after"), **r.json().get("error", {})}
                health = c.get("/api/health").status_code
    passed = (statuses == [200] * limit + [429] * 3 and first_429 is not None
              and first_429.get("code") == "rate_limited" and bool(first_429.get("retry_after")) and health == 200)
    return {"limit_per_minute": limit, "statuses": dict(Counter(statuses)), "first_429": first_429,
            "health_while_limited": health, "passed": passed}


# ------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running app (default: start one on a free loopback port)")
    ap.add_argument("--users", type=int, default=50, help="concurrent users (default 50)")
    ap.add_argument("--questions", type=int, default=20, help="questions per user, asked one after another (default 20)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per request (default 120)")
    ap.add_argument("--max-seconds", type=float, default=900.0, help="bound on each load phase (default 900)")
    ap.add_argument("--no-gradio", action="store_true", help="skip the chat phase (the same users x questions "
                    "through the Gradio queue, one session and one conversation per user)")
    ap.add_argument("--limit", type=int, default=10, help="per-minute limit of the rate-limit check server")
    ap.add_argument("--no-limit-check", action="store_true", help="skip the 429 check (it starts a second app)")
    ap.add_argument("--embedder", default="e5", help="RAG_EMBEDDER of the started app (default e5: the real model)")
    ap.add_argument("--start-timeout", type=float, default=600.0)
    ap.add_argument("--golden", type=Path, default=ROOT / "eval" / "golden.jsonl")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    args = ap.parse_args(argv)
    if args.users < 1 or args.questions < 1:
        ap.error("--users and --questions must be >= 1")

    questions = load_questions(args.golden)
    out: dict = {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "cpus": os.cpu_count(),
                 "load_average_before": [round(x, 2) for x in os.getloadavg()],
                 "users": args.users, "questions_per_user": args.questions}
    limit_raise = str(max(10_000, args.users * args.questions * 10))

    def run(url: str, pid: int | None) -> None:
        cpu0 = proc_cpu_s(pid) if pid else None
        print(f"REST: {args.users} users x {args.questions} questions -> POST {url}/api/ask ...", flush=True)
        out["rest"] = asyncio.run(rest_load(url, questions, args.users, args.questions, args.timeout,
                                            args.max_seconds, args.seed))
        if pid:
            cpu1 = proc_cpu_s(pid)
            out["server"] = {"rss_mb_after_rest": proc_rss_mb(pid),
                             "cpu_s_during_rest": round(cpu1 - cpu0, 1) if cpu0 is not None and cpu1 else None}
        out["load_average_after_rest"] = [round(x, 2) for x in os.getloadavg()]
        if not args.no_gradio:
            print(f"Gradio: {args.users} users x {args.questions} questions, one conversation each -> "
                  f"{url}/gradio_api/queue ...", flush=True)
            try:
                out["gradio"] = asyncio.run(gradio_load(url, questions, args.users, args.questions,
                                                        args.timeout, args.max_seconds, args.seed))
            except (RuntimeError, KeyError, StopIteration, ValueError) as e:
                out["gradio"] = {"skipped": f"{type(e).__name__}: {e}"}
            if pid:
                cpu2 = proc_cpu_s(pid)
                out["server"].update(rss_mb_after_gradio=proc_rss_mb(pid),
                                     cpu_s_during_gradio=round(cpu2 - cpu1, 1) if cpu1 is not None and cpu2 else None)

    if args.url:
        run(args.url.rstrip("/"), None)
    else:
        env = {"RAG_EMBEDDER": args.embedder, "RAG_BACKEND": "extractive", "RAG_RATE_LIMIT_PER_MINUTE": limit_raise}
        tmp_index = None
        if args.embedder != "e5":       # never let another embedder rebuild the project index
            env["RAG_INDEX_DIR"] = tmp_index = tempfile.mkdtemp(prefix="yc-load-index-")
        out["server_env"] = env
        try:
            with app_server(env, args.start_timeout, "load") as (url, pid):
                run(url, pid)
        finally:
            if tmp_index:
                shutil.rmtree(tmp_index, ignore_errors=True)
    if not args.no_limit_check:
        print(f"Rate limiter: {args.limit + 3} requests to a server limited to {args.limit}/min ...", flush=True)
        out["rate_limit"] = limiter_check(args.limit, args.start_timeout)
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]

    report(out)
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    good = not out["rest"]["errors"] and (not out.get("gradio") or not out["gradio"].get("errors"))
    good = good and out.get("rate_limit", {"passed": True})["passed"]
    return 0 if good else 1


def report(out: dict) -> None:
    r = out["rest"]
    print()
    print(f"date {out['date']}  cpus {out['cpus']}  load average before {out['load_average_before']} "
          f"after REST {out.get('load_average_after_rest')}")
    print(f"REST /api/ask: {r['requests']} requests ({out['users']} users x {out['questions_per_user']}), "
          f"{r['ok']} ok, errors {r['errors'] or 0}")
    lat = r["latency_s"]
    print(f"  wall {r['wall_s']} s, throughput {r['throughput_rps']} req/s, latency p50 {lat['p50']} s, "
          f"p95 {lat['p95']} s, p99 {lat['p99']} s, max {lat['max']} s, mean {lat['mean']} s")
    print(f"  server-side time per request (timings_ms, excl. queueing): p50 {r['server_ms']['p50']} ms, "
          f"p95 {r['server_ms']['p95']} ms")
    for e in r["sample_errors"]:
        print("  e.g.", e)
    if "server" in out:
        print(f"  server (process tree) memory {out['server']['rss_mb_after_rest']:.0f} MB PSS, "
              f"CPU {out['server']['cpu_s_during_rest']} s")
    g = out.get("gradio")
    if g and "skipped" in g:
        print(f"Gradio queue: skipped ({g['skipped']})")
    elif g:
        gl = g["latency_s"]
        print(f"Gradio chat: {g['turns']} turns ({g['users']} users, one conversation each, up to "
              f"{g['longest_conversation_messages']} messages), {g['ok']} ok, errors {g['errors'] or 0}")
        print(f"  wall {g['wall_s']} s, throughput {g['throughput_rps']} turns/s, latency p50 {gl['p50']} s, "
              f"p95 {gl['p95']} s, p99 {gl['p99']} s, max {gl['max']} s, mean {gl['mean']} s")
        if out.get("server", {}).get("rss_mb_after_gradio"):
            print(f"  server (process tree) memory {out['server']['rss_mb_after_gradio']:.0f} MB PSS, "
                  f"CPU {out['server']['cpu_s_during_gradio']} s")
    rl = out.get("rate_limit")
    if rl:
        f = rl["first_429"] or {}
        print(f"Rate limit ({rl['limit_per_minute']}/min): statuses {rl['statuses']}, health {rl['health_while_limited']}, "
              f"{'PASS' if rl['passed'] else 'FAIL'}")
        print(f"  429 Retry-After {f.get('retry_after')}: {f.get('message_zh')} / {f.get('message_en')}")


if __name__ == "__main__":
    sys.exit(main())
