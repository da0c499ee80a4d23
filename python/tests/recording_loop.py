"""A training loop the signal tests run as a process of its own and interrupt: it counts the
example's synthetic activations (a function of the step alone) and records them, and appends to
--log each step once ``record``/``step`` has taken it (so the log's last line is the last state
passed to the recorder).

    python recording_loop.py --db runs.sqlite --run r --api tracker --every 10 --log steps.log
"""

import argparse
import os
import signal
import sys
import time

import numpy as np

sys.path[:0] = [os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"),
                os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]

from feature_density import DensityRecorder, load_state, NoCheckpointError  # noqa: E402
from feature_density_metric import synthetic_activations  # noqa: E402

FEATURES = 64

parser = argparse.ArgumentParser()
parser.add_argument("--db", required=True)
parser.add_argument("--run", required=True)
parser.add_argument("--api", choices=["recorder", "tracker"], default="recorder")
parser.add_argument("--every", type=int, default=1)
parser.add_argument("--steps", type=int, default=10 ** 6)
parser.add_argument("--pause", type=float, default=0.0)
parser.add_argument("--log", required=True)
parser.add_argument("--resume", action="store_true")
args = parser.parse_args()


def note(text: str) -> None:
    with open(args.log, "a") as log:
        log.write(text + "\n")


# A signal is taken only between steps (while the loop sleeps), so that the log's last step is
# exactly the last state passed to the recorder. (Blocked only once the recorder has started:
# density record must not inherit the mask.)
SIGNALS = {signal.SIGINT, signal.SIGTERM}


def between_steps() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
    time.sleep(args.pause)
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)



if args.api == "tracker":
    from feature_density.tracker import DensityTracker

    with DensityTracker(args.run, db=args.db, every=args.every, resume=args.resume) as tracker:
        note(f"pid {tracker.recorder.process.pid}")
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        for step in range(max(tracker.start, 1), args.steps + 1):
            tracker.update(synthetic_activations(step, 0, FEATURES))
            tracker.step(step)
            note(f"step {step}")
            between_steps()
else:
    start, counts, vectors = 1, np.zeros(FEATURES, dtype=np.int64), 0
    if args.resume:
        try:
            state = load_state(args.run, db=args.db, discard_later=True)
            start, counts, vectors = state["step"] + 1, state["neuron_fired_count"], state["num_activation_vectors"]
        except NoCheckpointError:
            pass
    with DensityRecorder(args.run, db=args.db, every=args.every) as recorder:
        note(f"pid {recorder.process.pid}")
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        for step in range(start, args.steps + 1):
            acts = synthetic_activations(step, 0, FEATURES)
            counts = counts + (acts > 0).sum(dim=0).numpy()
            vectors += acts.shape[0]
            recorder.record(step, counts, vectors)
            note(f"step {step}")
            between_steps()
print("trained to the end")
