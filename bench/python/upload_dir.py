"""client.storage.upload_dir(LOCAL_DIR, DST_URI) with default settings.

    python upload_dir.py CONFIG_DIR LOCAL_DIR DST_URI
"""
from pathlib import Path

from yarl import URL

from common import args, run

config_dir, src, dst = args(["CONFIG_DIR", "LOCAL_DIR", "DST_URI"])
run(config_dir, lambda client: client.storage.upload_dir(URL(Path(src).absolute().as_uri()), URL(dst)))
