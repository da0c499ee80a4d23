"""examples/slurm: the sweep's job array, each task recording to its own node-local store and
mirroring it to a shared folder, while a reader on the "login node" lists the mirrors over and
over. Run twice: under SLURM (a one-node cluster: slurmctld and slurmd on this machine; skipped
when no SLURM controller answers, `sinfo`; the README says how to start one), and with the
script's own steps run directly, one `bash sweep.sbatch` per array task with SLURM_ARRAY_TASK_ID
set, as SLURM would, which runs everywhere.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading

import pytest

from conftest import DENSITY, PYTHON_DIR, REPO

SCRIPT = os.path.join(REPO, "examples", "slurm", "sweep.sbatch")

# DensityRecorder(mirror=...) forwards --mirror; a build of the package without it gets the same
# flags through extra_args, so the example's own lines run unchanged.
SHIM = textwrap.dedent("""
    import inspect
    from feature_density import recorder as _recorder
    _init = _recorder.DensityRecorder.__init__
    if "mirror" not in inspect.signature(_init).parameters:
        def __init__(self, *args, mirror=None, mirror_every=None, extra_args=(), **kwargs):
            extra = list(extra_args)
            if mirror is not None:
                extra += ["--mirror", str(mirror)]
            if mirror_every is not None:
                extra += ["--mirror-every", str(mirror_every)]
            _init(self, *args, extra_args=extra, **kwargs)
        _recorder.DensityRecorder.__init__ = __init__
""")


def _slurm_up() -> bool:
    if not shutil.which("sbatch") or not shutil.which("sinfo"):
        return False
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and any(state.strip() in ("idle", "mix", "alloc") for state in out.stdout.split())


def _sbatch(tmp_path, env):
    """The job array submitted to SLURM, waited for; its exit status and output."""
    job = subprocess.run(["sbatch", "--wait", "--array=0-3", f"--chdir={tmp_path}", f"--output={tmp_path}/task-%a.out",
                          SCRIPT], env=env, capture_output=True, text=True, timeout=900)
    return job.returncode, job.stdout + job.stderr


def _direct(tmp_path, env):
    """The array's four tasks run as SLURM runs them: the script itself, at once, each with its
    SLURM_ARRAY_TASK_ID, from the submit folder; the first failing status and the output."""
    tasks = []
    for task in range(4):
        task_env = dict(env, SLURM_ARRAY_TASK_ID=str(task), SLURM_ARRAY_JOB_ID="4242", SLURM_SUBMIT_DIR=str(tmp_path))
        log = open(tmp_path / f"task-{task}.out", "w")
        tasks.append((subprocess.Popen(["bash", SCRIPT], cwd=tmp_path, env=task_env, stdout=log, stderr=subprocess.STDOUT), log))
    statuses = []
    for process, log in tasks:
        statuses.append(process.wait(timeout=900))
        log.close()
    return next((status for status in statuses if status != 0), 0), ""


@pytest.mark.parametrize("launch", [
    pytest.param(_sbatch, id="under-slurm", marks=pytest.mark.skipif(
        not _slurm_up(), reason="no SLURM controller answers (see the README's 'On a cluster')")),
    pytest.param(_direct, id="the-scripts-steps-directly"),
])
def test_the_sweep_runs_and_the_login_node_reads_its_mirrors(tmp_path, launch):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SHIM)
    mirrors = tmp_path / "mirrors"
    env = dict(os.environ)
    # density and this interpreter (the one with torch) first on the tasks' PATH
    env["PATH"] = os.pathsep.join([os.path.dirname(DENSITY), os.path.dirname(os.path.abspath(sys.executable)), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join([str(shim), PYTHON_DIR])
    env.update(STEPS="400", MIRROR_EVERY="0.5", DENSITY_MIRRORS=str(mirrors), TMPDIR=str(tmp_path / "node-local"))
    (tmp_path / "node-local").mkdir()

    # The login node: lists the mirrors while the sweep trains; every answer whole, never an error.
    answers, errors, done = [], [], threading.Event()

    def login_node():
        while not done.is_set():
            if not mirrors.exists() or not list(mirrors.glob("*.sqlite")):
                done.wait(0.05)
                continue
            out = subprocess.run([DENSITY, "runs", "--db", str(mirrors / "*.sqlite"), "--format", "json"],
                                 capture_output=True, text=True)
            if out.returncode != 0 or "skipped" in out.stderr:
                errors.append(out.stderr)
                continue
            for row in json.loads(out.stdout):
                if row["latest_step"] is not None:
                    answers.append((row["run"], row["latest_step"], row["checkpoints"]))

    reader = threading.Thread(target=login_node)
    reader.start()
    try:
        status, output = launch(tmp_path, env)
    finally:
        done.set()
        reader.join()
    logs = "\n".join(p.read_text() for p in sorted(tmp_path.glob("task-*.out")))
    assert status == 0, output + logs

    assert errors == []
    assert answers, "the login node never saw a checkpoint in the mirrors"
    # every answer a whole snapshot: a run recorded every 50 steps has step/50 checkpoints
    assert all(step == 50 * checkpoints for _, step, checkpoints in answers), answers[:10]

    names = sorted(p.name for p in mirrors.iterdir())
    runs = ["l1-1e-4-seed-0", "l1-3e-4-seed-0", "l1-1e-3-seed-0", "l1-3e-3-seed-0"]
    assert names == sorted(f"{run}.sqlite" for run in runs), names
    out = subprocess.run([DENSITY, "runs", "--db", str(mirrors / "*.sqlite"), "--format", "json"],
                         capture_output=True, text=True, check=True)
    rows = {row["name"]: row for row in json.loads(out.stdout)}
    assert sorted(rows) == sorted(runs)
    for run, row in rows.items():
        assert row["latest_step"] == 400 and row["checkpoints"] == 8
        assert row["meta"] == {"l1": float(run.split("-")[1] + "-" + run.split("-")[2]), "seed": 0}
        assert row["mirror"]["source"].endswith(f"/{run}.sqlite") and row["mirror"]["age_seconds"] >= 0
        assert row["store"].startswith(str(mirrors))
    # the sweep as one store
    merged = subprocess.run([DENSITY, "merge", str(mirrors), "--into", str(tmp_path / "sweep.sqlite")],
                            capture_output=True, text=True)
    assert merged.returncode == 0, merged.stderr
    out = subprocess.run([DENSITY, "runs", "--db", str(tmp_path / "sweep.sqlite"), "--format", "json"],
                         capture_output=True, text=True, check=True)
    assert sorted(row["name"] for row in json.loads(out.stdout)) == sorted(runs)
