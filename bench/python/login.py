"""Setup (not measured): log in with a token into a fresh config directory.

    python login.py CONFIG_DIR API_URL TOKEN
"""
import asyncio
from pathlib import Path

import neuro_sdk
from yarl import URL

from common import args

config_dir, api_url, token = args(["CONFIG_DIR", "API_URL", "TOKEN"])
asyncio.run(neuro_sdk.Factory(Path(config_dir)).login_with_token(token, url=URL(api_url)))
