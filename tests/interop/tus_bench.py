"""Uploads many files to one tus server with tuspy, in one process, and says how
long the uploads took: the baseline of the sync benchmark
(tests/e2e/benches/sync.rs). The upload itself is tus_upload.py's (its
Sha256Uploader when --checksum sha256); only the timing is added.

Hashing the files and starting Python are not timed. Prints one JSON line:
  {"files": N, "bytes": N, "seconds": S}
or {"error": ...} and exits 1.
"""

import argparse
import hashlib
import json
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tus_upload import Sha256Uploader  # noqa: E402
from tusclient.client import TusClient  # noqa: E402
from tusclient.uploader import Uploader  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", required=True, help="the creation URL, .../v1/uploads")
    parser.add_argument("--token", required=True, help="the device's access token")
    parser.add_argument("--chunk-size", type=int, required=True)
    parser.add_argument("--checksum", choices=["none", "sha256"], default="sha256")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()

    uploads = []
    for path in args.files:
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        uploads.append((path, digest, os.path.getsize(path)))

    client = TusClient(args.endpoint, headers={"Authorization": f"Bearer {args.token}"})
    uploader_class = Sha256Uploader if args.checksum == "sha256" else Uploader
    started = time.perf_counter()
    try:
        for path, digest, _ in uploads:
            uploader = uploader_class(
                file_path=path,
                client=client,
                chunk_size=args.chunk_size,
                metadata={
                    "photo_id": str(uuid.uuid4()),
                    "sha256": digest,
                    "filename": os.path.basename(path),
                    "mime": "image/jpeg",
                },
                upload_checksum=args.checksum != "none",
            )
            uploader.set_url(uploader.create_url())
            uploader.upload()
            if uploader.offset != os.path.getsize(path):
                raise RuntimeError(f"{path}: stopped at {uploader.offset}")
    except Exception as error:  # noqa: BLE001 - any failure is reported the same way
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}), flush=True)
        return 1
    seconds = time.perf_counter() - started
    total = sum(size for _, _, size in uploads)
    print(json.dumps({"files": len(uploads), "bytes": total, "seconds": seconds}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
