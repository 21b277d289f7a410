"""client.jobs.monitor(JOB_ID) of a finished job, read to the end; the bytes received.

    python jobs_monitor.py CONFIG_DIR JOB_ID
"""
import neuro_sdk

from common import args, run

config_dir, job_id = args(["CONFIG_DIR", "JOB_ID"])


async def read_log(client: neuro_sdk.Client) -> int:
    total = 0
    async with client.jobs.monitor(job_id) as chunks:
        async for chunk in chunks:
            total += len(chunk)
    return total


run(config_dir, read_log, lambda total: {"bytes": total})
