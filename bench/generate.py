"""Generation benchmark: drafts/min and new tokens/s, batch 1 vs batched vs llama.cpp, in one run.

Run by `make bench`. Uses a scratch BRANDVOICE_HOME (the demo workspace is not touched), the demo
adapter when one is trained (else the base model; the JSON says which), synthetic HubSpot-style
contacts, and the embedded GGUF for llama.cpp (llama-cpp-python, n_threads=2). Timings on a shared
machine are noisy: compare the ratios measured in the same run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see generate_local.LocalBackend.load
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("BRANDVOICE_MODELS_DIR", str(REPO / ".brandvoice" / "models"))

from benchuser import marketer  # noqa: E402

FIRST = ["Dana", "Sam", "Ana", "Raj", "Mia", "Leo", "Zoe", "Ivan", "Nora", "Omar", "Lena", "Tom"]
LAST = ["Reyes", "Okafor", "Silva", "Patel", "Novak", "Berg", "Kim", "Haddad", "Lund", "Ortiz"]
COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella Foods", "Hooli", "Stark Logistics",
             "Wayne Retail", "Tyrell Health", "Soylent Labs", "Cyberdyne Parts", "Vandelay Import"]
TITLES = ["Controller", "CFO", "VP Finance", "Accounting Manager", "Finance Lead", "Head of FP&A"]
NOTES = ["Asked about month-end close", "Uses spreadsheets for reconciliations", "", "Evaluating tools in Q3",
         "Went quiet after pricing call", "Interested in audit trail"]
TEMPLATE = "reengage_cold_lead"


def log(msg: str) -> None:
    print(f"[bench/generate {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def write_crm(path: Path, n: int) -> Path:
    """A HubSpot-style export with n distinct contacts."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Record ID", "First Name", "Last Name", "Email", "Company Name", "Job Title",
                    "Lifecycle Stage", "Lead Status", "Notes"])
        for i in range(n):
            first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
            company = COMPANIES[i % len(COMPANIES)]
            w.writerow([5000 + i, first, last, f"{first.lower()}.{last.lower()}{i}@example.com", company,
                        TITLES[i % len(TITLES)], ["lead", "opportunity", "customer"][i % 3],
                        ["Open", "In Progress", "Attempted to contact"][i % 3], NOTES[i % len(NOTES)]])
    return path


def find_adapter(scratch_store):
    """The demo adapter from the real workspace, registered in the scratch store; None if untrained."""
    try:
        from brandvoice.config import Settings
        from brandvoice.store import Store
        from brandvoice.store import adapters as adapters_t
        from brandvoice.training import adapters
    except ImportError:
        return None
    real = Store(Settings.from_env(home=os.environ.get("BRANDVOICE_BENCH_SOURCE_HOME",
                                                       str(REPO / ".brandvoice"))))
    found = [a for a in adapters.list_adapters(real) if a.status == "ready"]
    if not found:
        return None
    info = sorted(found, key=lambda a: (a.name != "ledgerly", -a.version))[0]
    import sqlalchemy as sa

    with real.read() as conn:
        row = dict(conn.execute(sa.select(adapters_t).where(adapters_t.c.id == info.id)).mappings().one())
    with scratch_store.tx() as conn:
        conn.execute(adapters_t.insert().values(**row))
    return adapters.get_adapter(scratch_store, str(info.id))


def requests_for(contacts, brand):
    from brandvoice import prompting
    from brandvoice.generation.backends import GenRequest, seed_for
    from brandvoice.prompting import shape

    tpl = prompting.get_template(TEMPLATE)
    system = shape.system_prompt(brand)
    reqs = [GenRequest(system, prompting.render(tpl, c, brand=brand), seed_for(1234, c["key"], 0, 0))
            for c in contacts]
    return sorted(reqs, key=lambda r: len(r.user))


def run_local(backend, reqs, batch_size: int) -> dict:
    from brandvoice.prompting import shape

    t0 = time.perf_counter()
    tokens, ok = 0, 0
    for i in range(0, len(reqs), batch_size):
        for out in backend.generate(reqs[i:i + batch_size]):
            tokens += out.new_tokens
            ok += shape.parse_email(out.text).ok
    secs = time.perf_counter() - t0
    return {"batch_size": batch_size, "drafts": len(reqs), "seconds": round(secs, 1), "new_tokens": tokens,
            "tokens_per_s": round(tokens / secs, 2), "drafts_per_min": round(60 * len(reqs) / secs, 2),
            "parsed_ok": ok}


def run_llama_cpp(gguf: Path, reqs, cfg, threads: int) -> dict:
    from llama_cpp import Llama

    llm = Llama(model_path=str(gguf), n_threads=threads, n_ctx=2048, seed=cfg.seed, verbose=False)
    t0 = time.perf_counter()
    tokens = 0
    for r in reqs:
        out = llm.create_chat_completion(messages=r.messages, max_tokens=cfg.max_new_tokens,
                                         temperature=cfg.temperature, top_p=cfg.top_p, top_k=cfg.top_k,
                                         repeat_penalty=cfg.repetition_penalty, seed=r.seed)
        tokens += out["usage"]["completion_tokens"]
    secs = time.perf_counter() - t0
    return {"drafts": len(reqs), "seconds": round(secs, 1), "new_tokens": tokens, "n_threads": threads,
            "tokens_per_s": round(tokens / secs, 2), "drafts_per_min": round(60 * len(reqs) / secs, 2)}


def llama_cpp_in_child(gguf: Path, reqs, cfg, threads: int, scratch: Path) -> dict:
    """run_llama_cpp in a child process: a native crash (e.g. SIGILL from a mis-built wheel) is reported."""
    spec = scratch / "llama_reqs.json"
    spec.write_text(json.dumps({"gguf": str(gguf), "threads": threads, "config": cfg.to_dict(),
                                "requests": [{"system": r.system, "user": r.user, "seed": r.seed} for r in reqs]}))
    proc = subprocess.run([sys.executable, __file__, "--llama-child", str(spec)], capture_output=True,
                          text=True, timeout=3600)
    if proc.returncode != 0:
        return {"error": f"llama.cpp child exited with {proc.returncode}: {proc.stderr[-600:]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def llama_child(spec_path: str) -> int:
    from brandvoice.generation.backends import GenRequest
    from brandvoice.generation.batch import GenerationConfig

    spec = json.loads(Path(spec_path).read_text())
    reqs = [GenRequest(r["system"], r["user"], r["seed"]) for r in spec["requests"]]
    res = run_llama_cpp(Path(spec["gguf"]), reqs, GenerationConfig(**spec["config"]), spec["threads"])
    print(json.dumps(res))
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_remote(store, settings, crm: Path, gguf: Path, cfg, brand: str, threads: int) -> dict:
    """A real generate job through the openai backend against llama-cpp-python's server."""
    import httpx

    from brandvoice import worker
    from brandvoice.generation import batch as generate

    port = free_port()
    server_log = Path(settings.home) / "llama_server.log"
    log_fh = server_log.open("wb")  # a pipe nobody reads would fill up and block the server
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host",
                             "127.0.0.1", "--port", str(port), "--n_threads", str(threads), "--n_ctx",
                             "2048", "--model_alias", "smollm2"],
                            stdout=log_fh, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(url + "/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = server_log.read_text(errors="replace")[-800:]
                return {"error": f"llama_cpp.server did not start: {err}"}
            time.sleep(1)
        rcfg = generate.GenerationConfig(**{**cfg.to_dict(), "backend": "openai", "server_url": url,
                                            "model": "smollm2", "concurrency": 2, "batch_size": 4,
                                            "max_tries": 1})
        job_id = generate.submit(store, settings, actor=marketer(store), crm=crm, template=TEMPLATE,
                                 brand=brand, config=rcfg)
        t0 = time.perf_counter()
        job = worker.run(store, job_id)
        secs = time.perf_counter() - t0
        res = job.get("result") or {}
        return {"status": job["status"], "error": job.get("error"), "drafts": res.get("drafts"),
                "seconds": round(secs, 1), "verdicts": res.get("verdicts"), "malformed": res.get("malformed"),
                "tokens_per_s": (res.get("run") or {}).get("tokens_per_s"), "server": "llama_cpp.server"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log_fh.close()


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--llama-child":
        return llama_child(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contacts", type=int, default=64)
    ap.add_argument("--job-contacts", type=int, default=100)
    ap.add_argument("--batch-sizes", default="16,32,64", help="swept on --sweep-contacts contacts")
    ap.add_argument("--sweep-contacts", type=int, default=32)
    ap.add_argument("--single-stream", type=int, default=4, help="contacts timed at batch 1 / llama.cpp")
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--job-max-tries", type=int, default=None,
                    help="max_tries of the 100-contact job (default 3 with an adapter, 1 for the base model, "
                    "which rarely writes the 'Subject:' line and would be retried every time)")
    ap.add_argument("--skip-llama", action="store_true")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "generate.json"))
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    scratch = Path(tempfile.mkdtemp(prefix="bv-bench-gen-"))
    os.environ["BRANDVOICE_HOME"] = str(scratch)
    try:
        return _bench(args, scratch)
    finally:
        from brandvoice.store import Store

        Store.dispose_all()
        shutil.rmtree(scratch, ignore_errors=True)


def _bench(args, scratch: Path) -> int:
    """The measurements, in a scratch BRANDVOICE_HOME."""
    from brandvoice import crm as crm_mod
    from brandvoice import models, worker
    from brandvoice.config import Settings
    from brandvoice.generation import batch as generate
    from brandvoice.generation.local import LocalBackend
    from brandvoice.store import Store

    settings = Settings.from_env()
    store = Store(settings)
    adapter = find_adapter(store)
    brand = str((adapter.manifest or {}).get("brand") or adapter.name) if adapter else "Ledgerly"
    log(f"model: {adapter.label if adapter else 'base model (no trained adapter found)'}; "
        f"load average {os.getloadavg()}")
    crm64 = write_crm(scratch / "crm64.csv", args.contacts)
    crm100 = write_crm(scratch / "crm100.csv", args.job_contacts)
    contacts = crm_mod.import_contacts(crm64).contacts
    reqs = requests_for(contacts, brand)
    cfg = generate.GenerationConfig(max_new_tokens=args.max_new_tokens)
    result: dict = {"machine": {"cpus": os.cpu_count(), "torch_threads": args.threads,
                                "load_avg_start": os.getloadavg()},
                    "model": adapter.label if adapter else f"base:{models.DEFAULT_MODEL} (no adapter trained yet)",
                    "template": TEMPLATE, "settings": cfg.to_dict(), "contacts": len(reqs)}

    t0 = time.perf_counter()
    backend = LocalBackend.load(cfg, settings, adapter=adapter, brand=brand, log=log)
    result["load_seconds"] = round(time.perf_counter() - t0, 1)
    result["serving"] = backend.info
    single = reqs[: args.single_stream]
    result["local_batch_1"] = run_local(backend, single, 1)
    log(f"local batch 1: {result['local_batch_1']}")
    sweep = []
    for bs in [int(b) for b in args.batch_sizes.split(",") if b.strip()]:
        sweep.append(run_local(backend, reqs[: args.sweep_contacts], bs))
        log(f"local batch {bs}: {sweep[-1]}")
    result["local_sweep"] = sweep
    best_bs = max(sweep, key=lambda r: r["tokens_per_s"])["batch_size"]
    best = run_local(backend, reqs, best_bs)  # all contacts at the best batch size: the headline
    log(f"local best batch {best_bs} on {len(reqs)} contacts: {best}")
    result["local_best"] = best
    result["batched_vs_batch_1"] = round(best["tokens_per_s"] / result["local_batch_1"]["tokens_per_s"], 2)
    if adapter is not None and backend.info.get("merged"):
        # The unmerged adapter at the best batch size, for the merge's speed-up.
        unmerged = LocalBackend.load(generate.GenerationConfig(**{**cfg.to_dict(), "merge": "no"}),
                                     settings, adapter=adapter, brand=brand, log=log)
        result["unmerged_best_batch"] = run_local(unmerged, reqs[: best["batch_size"]], best["batch_size"])
        merged_same = run_local(backend, reqs[: best["batch_size"]], best["batch_size"])
        result["merged_speedup"] = round(merged_same["tokens_per_s"]
                                         / result["unmerged_best_batch"]["tokens_per_s"], 2)
        unmerged.close()
    backend.close()

    gguf = models._gguf_path(models.resolve(models.DEFAULT_MODEL))
    if not args.skip_llama:
        result["llama_cpp_single_stream"] = llama = llama_cpp_in_child(gguf, single, cfg, args.threads, scratch)
        log(f"llama.cpp: {llama}")
        if "tokens_per_s" in llama:
            ratio = best["tokens_per_s"] / llama["tokens_per_s"]
            result["batched_vs_llama_cpp"] = round(ratio, 2)
            result["target_3x_llama_cpp_met"] = ratio >= 3

    tries = args.job_max_tries or (3 if adapter else 1)
    job_cfg = generate.GenerationConfig(**{**cfg.to_dict(), "batch_size": best["batch_size"], "max_tries": tries})
    job_id = generate.submit(store, settings, actor=marketer(store), crm=crm100, template=TEMPLATE,
                             adapter=str(adapter.id) if adapter else None, brand=brand, config=job_cfg)
    t0 = time.perf_counter()
    job = worker.run(store, job_id)
    secs = time.perf_counter() - t0
    res = job.get("result") or {}
    result["job_100"] = {"contacts": args.job_contacts, "status": job["status"], "error": job.get("error"), "drafts": res.get("drafts"),
                         "seconds": round(secs, 1), "verdicts": res.get("verdicts"),
                         "malformed": res.get("malformed"), "batch_size": best["batch_size"],
                         "max_tries": tries, "new_tokens": (res.get("run") or {}).get("new_tokens"),
                         "target_under_300s_met": job["status"] == "done" and secs < 300}
    log(f"{args.job_contacts}-contact job: {result['job_100']}")

    if not args.skip_llama:
        try:
            import llama_cpp.server  # noqa: F401

            result["remote_llama_cpp_server"] = run_remote(store, settings, write_crm(scratch / "crm4.csv", 4),
                                                           gguf, cfg, brand, args.threads)
        except ImportError:
            result["remote_llama_cpp_server"] = {"error": "llama-cpp-python[server] is not installed"}
        log(f"remote backend: {result['remote_llama_cpp_server']}")
    result["machine"]["load_avg_end"] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, out)
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
