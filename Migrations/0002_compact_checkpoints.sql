-- 0002: compact checkpoints and precomputed summaries.
--
-- Chunks may now be deltas: encoding 3 holds each count minus the same count at the run's previous
-- checkpoint. A checkpoint's delta_depth says how far back its keyframe is: 0 for a keyframe (every
-- chunk holds cumulative counts: encoding 1 or 2), d > 0 when its chunks are deltas against the
-- previous checkpoint by step, whose depth is d - 1. A run starts a new keyframe every
-- keyframe_interval checkpoints, so reading any checkpoint decodes at most keyframe_interval chunks
-- per chunk position. Checkpoints written before this version are raw keyframes (depth 0).

ALTER TABLE runs ADD COLUMN keyframe_interval INTEGER NOT NULL DEFAULT 32 CHECK (keyframe_interval > 0);

ALTER TABLE checkpoints ADD COLUMN delta_depth INTEGER NOT NULL DEFAULT 0 CHECK (delta_depth >= 0);

-- What `runs`, `show` and run-level plots need, without decoding counts. Written with each
-- checkpoint; a checkpoint without a row here (written before this version) is summarized on demand.
CREATE TABLE checkpoint_summaries (
    checkpoint_id INTEGER PRIMARY KEY REFERENCES checkpoints(id) ON DELETE CASCADE,
    fired_total   INTEGER NOT NULL CHECK (fired_total >= 0),  -- sum of every count
    dead          INTEGER NOT NULL CHECK (dead >= 0),         -- (component, feature) pairs with count 0
    dense         INTEGER NOT NULL CHECK (dense >= 0),        -- pairs with density >= 1e-2
    histogram     TEXT    NOT NULL CHECK (json_valid(histogram))
    -- JSON array of 50 counts: log10(density + 1e-10) in bins of width 0.2 over [-10, 0]
    -- (bin i covers [-10 + 0.2 i, -10 + 0.2 (i + 1)); values are clamped into the range).
) STRICT;
