-- 0001: runs, their checkpoints, and each checkpoint's counts in feature chunks.
--
-- A checkpoint holds the metric's cumulative state at one training step. Its counts
-- (neuron_fired_count) are split by component and by chunks of runs.chunk_features features;
-- each chunk is one blob, tagged with its encoding and a CRC-32 checksum.

CREATE TABLE runs (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 256),
    features       INTEGER NOT NULL CHECK (features > 0),
    components     INTEGER CHECK (components IS NULL OR components > 0),   -- NULL: [batch, features] input
    fire_threshold REAL    NOT NULL DEFAULT 0.0,                           -- fired means value > fire_threshold
    chunk_features INTEGER NOT NULL CHECK (chunk_features > 0),
    created_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    metadata       TEXT    CHECK (metadata IS NULL OR json_valid(metadata)) -- JSON, e.g. hyperparameters
) STRICT;

CREATE TABLE checkpoints (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step       INTEGER NOT NULL CHECK (step >= 0),
    vectors    INTEGER NOT NULL CHECK (vectors >= 0),     -- cumulative num_activation_vectors
    non_finite INTEGER NOT NULL CHECK (non_finite >= 0),  -- cumulative NaN/inf activations seen
    wall_time  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (run_id, step)
) STRICT;

CREATE TABLE chunks (
    id            INTEGER PRIMARY KEY,
    checkpoint_id INTEGER NOT NULL REFERENCES checkpoints(id) ON DELETE CASCADE,
    component     INTEGER NOT NULL CHECK (component >= 0),  -- 0 when the run has no components
    chunk         INTEGER NOT NULL CHECK (chunk >= 0),      -- features [chunk * chunk_features, ...)
    encoding      INTEGER NOT NULL,                         -- 1: raw little-endian int64 counts
    checksum      INTEGER NOT NULL,                         -- CRC-32 (zlib's) of data
    data          BLOB    NOT NULL,
    UNIQUE (checkpoint_id, component, chunk)
) STRICT;
