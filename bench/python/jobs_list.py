"""client.jobs.list() with no filters, consumed job by job; the count and the time to the first job.

    python jobs_list.py CONFIG_DIR
"""
import time
from typing import Any, Dict

import neuro_sdk

from common import args, run

(config_dir,) = args(["CONFIG_DIR"])


async def list_all(client: neuro_sdk.Client) -> Dict[str, Any]:
    start = time.perf_counter()
    count = 0
    first_ms = -1.0
    async with client.jobs.list() as jobs:
        async for _ in jobs:
            if count == 0:
                first_ms = (time.perf_counter() - start) * 1000
            count += 1
    return {"count": count, "firstMs": first_ms}


run(config_dir, list_all, lambda value: value)
