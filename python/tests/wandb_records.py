"""Reads an offline W&B run's own transaction log (``run-*.wandb``): the LevelDB log framing W&B
writes (a 7-byte ``:W&B`` header, 32 KiB blocks of records checksummed with CRC-32 of type and
data) around ``wandb_internal_pb2.Record`` protobufs, wandb's own message type."""

import glob
import json
import os
import struct
import zlib

from wandb.proto import wandb_internal_pb2

BLOCK = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path):
    """Every Record in the file, in order."""
    with open(path, "rb") as file:
        data = file.read()
    ident, magic, version = struct.unpack("<4sHB", data[:7])
    assert ident == b":W&B" and magic == 0xBEE1, f"{path} is not a W&B transaction log"
    position, pending = 7, b""
    while position + 7 <= len(data):
        left = BLOCK - position % BLOCK
        if left < 7:                                   # the block's zero trailer
            position += left
            continue
        checksum, length, kind = struct.unpack("<IHB", data[position:position + 7])
        if checksum == 0 and length == 0 and kind == 0:
            position += left
            continue
        payload = data[position + 7:position + 7 + length]
        assert zlib.crc32(payload, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF == checksum, "bad checksum"
        position += 7 + length
        if kind == FULL:
            pending = payload
        elif kind == FIRST:
            pending = payload
            continue
        elif kind == MIDDLE:
            pending += payload
            continue
        elif kind == LAST:
            pending += payload
        record = wandb_internal_pb2.Record()
        record.ParseFromString(pending)
        yield record
        pending = b""


def history(run_folder):
    """The rows ``wandb.log`` wrote, as dictionaries of decoded values, from the run's .wandb file."""
    (path,) = glob.glob(os.path.join(run_folder, "run-*.wandb"))
    rows = []
    for record in records(path):
        if record.WhichOneof("record_type") == "history":
            row = {}
            for item in record.history.item:
                path = [item.key] if item.key else list(item.nested_key)
                into = row
                for part in path[:-1]:                 # a media value is split into its fields
                    into = into.setdefault(part, {})
                into[path[-1]] = json.loads(item.value_json)
            rows.append(row)
    return rows
