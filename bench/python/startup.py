"""Cold start: import neuro_sdk and read the stored login (the user name), then exit.

    python startup.py CONFIG_DIR
"""
import asyncio
import sys
from pathlib import Path

import neuro_sdk


async def main() -> None:
    async with neuro_sdk.get(path=Path(sys.argv[1])) as client:
        print(client.config.username)


asyncio.run(main())
