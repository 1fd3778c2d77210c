"""Cold start to ready, and resident memory after many distinct people."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bot.messages import Incoming
from bot.runtime import build_runtime
from bot.settings import Settings

CLEAN_ENV = {
    k: v for k, v in os.environ.items() if not k.startswith(("HELPLINE_", "TELEGRAM_", "ZALO_"))
}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def cold_start(runs: int = 3) -> dict[str, float]:
    """Seconds from `helpline run` to /healthz answering 200 (fresh database each run)."""
    times: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            port = _free_port()
            env = dict(CLEAN_ENV, HELPLINE_HTTP_PORT=str(port))
            started = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                cwd=tmp,
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                async with aiohttp.ClientSession() as http:
                    while True:
                        try:
                            async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                                if resp.status == 200:
                                    break
                        except aiohttp.ClientError:
                            pass
                        if time.perf_counter() - started > 60:
                            raise RuntimeError("helpline run did not become ready in 60 s")
                        await asyncio.sleep(0.02)
                times.append(time.perf_counter() - started)
            finally:
                proc.terminate()
                await asyncio.wait_for(proc.wait(), 20)
    return {"cold_start_s_median": sorted(times)[len(times) // 2], "cold_start_s_max": max(times)}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def memory_after_users(users: int = 10_000) -> dict[str, Any]:
    """RSS of a fresh process (nothing else loaded) after `users` distinct people."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.footprint",
        str(users),
        env=dict(CLEAN_ENV, PYTHONPATH=os.getcwd()),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


async def _memory_in_this_process(users: int, concurrency: int = 50) -> dict[str, Any]:
    """RSS of this process after `users` distinct people each sent two messages."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=f"sqlite+aiosqlite:///{tmp}/bench.db",
            secret_key="94H7eVo_bU7TFVLWJT6JEbOOce0JVe9RBfwKzwmeL9Po5Qj-M0JwOg",
            data_dir=Path(tmp),
        )
        runtime = await build_runtime(settings)
        try:
            before = _rss_mb()
            queue: asyncio.Queue[int] = asyncio.Queue()
            for i in range(users):
                queue.put_nowait(i)
            texts = ["xin chào", "tôi muốn biết về quyền của mình"]

            async def worker() -> None:
                while not queue.empty():
                    i = queue.get_nowait()
                    for j, text in enumerate(texts):
                        await runtime.engine.handle(
                            Incoming("telegram", str(10_000_000 + i), f"m{j}", text=text)
                        )

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
            return {
                "users": users,
                "rss_mb_before": round(before, 1),
                "rss_mb_after": round(_rss_mb(), 1),
                "turns_per_s_in_process": round(users * len(texts) / elapsed, 1),
                "locks_left": len(runtime.engine.locks),
            }
        finally:
            await runtime.close()


if __name__ == "__main__":
    print(
        json.dumps(
            asyncio.run(_memory_in_this_process(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
        )
    )
