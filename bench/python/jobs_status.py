"""CALLS sequential client.jobs.status(JOB_ID).

    python jobs_status.py CONFIG_DIR JOB_ID CALLS
"""
import neuro_sdk

from common import args, run

config_dir, job_id, calls = args(["CONFIG_DIR", "JOB_ID", "CALLS"])
n = int(calls)


async def statuses(client: neuro_sdk.Client) -> None:
    for _ in range(n):
        await client.jobs.status(job_id)


run(config_dir, statuses, lambda _: {"count": n})
