"""client.storage.download_file(SRC_URI, LOCAL_FILE).

    python download_file.py CONFIG_DIR SRC_URI LOCAL_FILE
"""
from pathlib import Path

from yarl import URL

from common import args, run

config_dir, src, dst = args(["CONFIG_DIR", "SRC_URI", "LOCAL_FILE"])
run(config_dir, lambda client: client.storage.download_file(URL(src), URL(Path(dst).absolute().as_uri())))
