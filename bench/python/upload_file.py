"""client.storage.upload_file(LOCAL_FILE, DST_URI).

    python upload_file.py CONFIG_DIR LOCAL_FILE DST_URI
"""
from pathlib import Path

from yarl import URL

from common import args, run

config_dir, src, dst = args(["CONFIG_DIR", "LOCAL_FILE", "DST_URI"])
run(config_dir, lambda client: client.storage.upload_file(URL(Path(src).absolute().as_uri()), URL(dst)))
