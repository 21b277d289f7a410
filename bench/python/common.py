"""Shared by the Python neuro-sdk 23.2 clients of `npm run bench -- compare`.

Same protocol as bench/clients/*.mjs: set up (load the stored login with ``neuro_sdk.get``), time
one operation through the SDK's public API with its default settings, print one line
``RESULT {...}`` (seconds, CPU seconds of this process during the operation, counts).
"""
import asyncio
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List

import neuro_sdk


def args(names: List[str]) -> List[str]:
    if len(sys.argv) - 1 < len(names):
        sys.exit(f"usage: {sys.argv[0]} {' '.join(names)}")
    return sys.argv[1:]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def user_seconds() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_utime


def report(**fields: Any) -> None:
    print("RESULT " + json.dumps(fields), flush=True)


def run(
    config_dir: str,
    operation: Callable[[neuro_sdk.Client], Awaitable[Any]],
    extra: Callable[[Any], Dict[str, Any]] = lambda _: {},
) -> None:
    async def main() -> None:
        async with neuro_sdk.get(path=Path(config_dir)) as client:
            cpu = cpu_seconds()
            user = user_seconds()
            start = time.perf_counter()
            value = await operation(client)
            seconds = time.perf_counter() - start
            op_cpu = cpu_seconds() - cpu
            op_user = user_seconds() - user
        report(seconds=seconds, opCpu=op_cpu, opUser=op_user, **extra(value))

    asyncio.run(main())
