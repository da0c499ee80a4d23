-- 0003: distributed ranks, and checkpoints derived from densities.
--
-- A run written by W ranks (runs.world_size = W > 1) receives one partial state per rank and step
-- in rank_states. A step becomes a checkpoint, the sum of its W partial states (torchmetrics'
-- dist_reduce_fx = "sum"), once every rank has written it and every earlier pending step is
-- complete; until then it is pending and no query sees it. A completed step keeps its rank rows
-- as a ledger (data NULL, checksum kept), so writing the same partial state again is recognised.

ALTER TABLE runs ADD COLUMN world_size INTEGER NOT NULL DEFAULT 1 CHECK (world_size > 0);

-- 1 when the counts were derived from densities (e.g. an imported SAELens sparsity file), so
-- they are rounded, not counted.
ALTER TABLE checkpoints ADD COLUMN approximate INTEGER NOT NULL DEFAULT 0 CHECK (approximate IN (0, 1));

CREATE TABLE rank_states (
    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step       INTEGER NOT NULL CHECK (step >= 0),
    rank       INTEGER NOT NULL CHECK (rank >= 0),
    vectors    INTEGER NOT NULL CHECK (vectors >= 0),     -- this rank's cumulative num_activation_vectors
    non_finite INTEGER NOT NULL CHECK (non_finite >= 0),
    encoding   INTEGER NOT NULL,                         -- as chunks.encoding, over all components' counts
    checksum   INTEGER NOT NULL,                         -- CRC-32 (zlib's) of the encoded counts
    data       BLOB,                                     -- NULL once the step is a checkpoint
    wall_time  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (run_id, step, rank)
) STRICT;
