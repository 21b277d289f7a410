"""client.storage.download_dir(SRC_URI, LOCAL_DIR) with default settings.

    python download_dir.py CONFIG_DIR SRC_URI LOCAL_DIR
"""
from pathlib import Path

from yarl import URL

from common import args, run

config_dir, src, dst = args(["CONFIG_DIR", "SRC_URI", "LOCAL_DIR"])
run(config_dir, lambda client: client.storage.download_dir(URL(src), URL(Path(dst).absolute().as_uri())))
