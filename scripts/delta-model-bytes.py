"""What a better model of per-step deltas would save: bytes per feature of one every-step delta
checkpoint on the benchmark's workload (log10 density ~ Normal(-3, 1) clipped to [-7, 0], 5% dead,
batch 4096, counts as after 50,000 steps), chunk by chunk (8,192 features) as the store writes them.

    python3 scripts/delta-model-bytes.py [features]      # pip install numpy zstandard

Rows: the order-0 entropy of the deltas; the stored encoding (3: LEB128 varints of the deltas, one
zstd frame a chunk, level 1 with the store's parameters); the same at zstd level 19; and a model
the decoder could replay from what it already has: each feature's delta predicted from its own
rate so far, round(count * added_vectors / vectors), and the zigzag residual coded the same way.
"""
import sys

import numpy as np
import zstandard

features = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 20
batch, start_steps, chunk = 4096, 50_000, 8192
rng = np.random.default_rng(11)
density = 10 ** np.clip(rng.normal(-3, 1, features), -7, 0)
density[rng.random(features) < 0.05] = 0
counts = rng.binomial(batch * start_steps, density).astype(np.int64)
vectors = batch * start_steps


def leb128(values):
    if values.max(initial=0) < 128:
        return values.astype(np.uint8).tobytes()
    out = bytearray()
    for v in values.tolist():
        while v >= 0x80:
            out.append((v & 0x7F) | 0x80)
            v >>= 7
        out.append(v)
    return bytes(out)


def store_level_1():  # Zstd.parameters in Sources/DensityStore/Codec/Zstd.swift
    return zstandard.ZstdCompressor(compression_params=zstandard.ZstdCompressionParameters.from_level(
        1, window_log=14, hash_log=12, search_log=1, min_match=7))


def per_feature(values, compressor):
    return sum(len(compressor.compress(leb128(values[s:s + chunk]))) for s in range(0, features, chunk)) / features


def entropy(values):
    _, n = np.unique(values, return_counts=True)
    q = n / n.sum()
    return -(q * np.log2(q)).sum() / 8


delta = rng.binomial(batch, density).astype(np.int64)
predicted = (counts * batch + vectors // 2) // vectors          # exact integers, as a decoder would
residual = delta - predicted
zigzag = np.where(residual >= 0, 2 * residual, -2 * residual - 1)
print(f"{features} features, one every-step delta checkpoint, bytes per feature:")
print(f"  order-0 entropy of the deltas              {entropy(delta):.3f}")
print(f"  stored (varint + zstd level 1)             {per_feature(delta, store_level_1()):.3f}")
print(f"  varint + zstd level 19                     {per_feature(delta, zstandard.ZstdCompressor(level=19)):.3f}")
print(f"  order-0 entropy of the rate residuals      {entropy(zigzag):.3f}")
print(f"  rate residuals (zigzag varint + zstd 1)    {per_feature(zigzag, store_level_1()):.3f}")
