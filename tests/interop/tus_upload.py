"""Uploads one photo to the bureau with tuspy, the tus project's Python client.

Driven by bureau/tests/tus_interop.rs (tuspy is pinned in tests/requirements.txt).
Prints one JSON line per step on stdout:
  {"event": "created" | "resumed", "url": ..., "offset": N}  before sending bytes
  {"event": "done", "url": ..., "offset": N}                  when all are sent
  {"event": "error", "message": ...}                          then exits 1
With --url it resumes that upload from the offset the server reports (HEAD).
"""

import argparse
import hashlib
import json
import os
import sys

from tusclient.client import TusClient
from tusclient.uploader import Uploader


class Sha256Uploader(Uploader):
    """tuspy checksums chunks with sha1 unless told otherwise."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", required=True, help="the creation URL, .../v1/uploads")
    parser.add_argument("--token", required=True, help="the device's access token")
    parser.add_argument("--file", required=True)
    parser.add_argument("--photo-id", required=True)
    parser.add_argument("--sha256", required=True, help="hex SHA-256 of the whole file")
    parser.add_argument("--chunk-size", type=int, required=True)
    parser.add_argument("--checksum", choices=["none", "sha1", "sha256"], default="none")
    parser.add_argument("--url", help="an upload to resume instead of creating one")
    args = parser.parse_args()

    client = TusClient(args.endpoint, headers={"Authorization": f"Bearer {args.token}"})
    uploader_class = Sha256Uploader if args.checksum == "sha256" else Uploader
    try:
        uploader = uploader_class(
            file_path=args.file,
            client=client,
            url=args.url,  # when given, the constructor asks the server for the offset
            chunk_size=args.chunk_size,
            metadata={
                "photo_id": args.photo_id,
                "sha256": args.sha256,
                "filename": os.path.basename(args.file),
                "mime": "image/jpeg",
            },
            upload_checksum=args.checksum != "none",
        )
        if uploader.url is None:
            uploader.set_url(uploader.create_url())
        emit("resumed" if args.url else "created", url=uploader.url, offset=uploader.offset)
        uploader.upload()
    except Exception as error:  # noqa: BLE001 - any failure is reported the same way
        emit("error", message=f"{type(error).__name__}: {error}")
        return 1
    emit("done", url=uploader.url, offset=uploader.offset)
    return 0


if __name__ == "__main__":
    sys.exit(main())
