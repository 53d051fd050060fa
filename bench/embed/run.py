#!/usr/bin/python3
"""`make bench`'s embed section: `radflow embed` against Python PyTorch (torch_side.py)
on the same ViT-S/14 and ViT-B/14 weights and the same DICOM files, at 224 and 518,
one thread and all threads, alternating, and the section of BENCHMARKS.md between the
embed markers rewritten (bench/embed/README.md).

  run.py BUILD_DIR [--repeat K] [--no-write]

Debian's /usr/bin/python3 (numpy, pydicom, python3-torch 1.13); builds nothing: needs
BUILD_DIR/bin/radflow, radflow-worker and BUILD_DIR/plugins/embed.so (a LibTorch build).
"""
import json, os, re, shutil, subprocess, sys, tempfile, time

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from bench_section import parser, header, med, runs, write_section  # noqa: E402

PY = "/usr/bin/python3"
PEER = os.path.join(HERE, "torch_side.py")
SHAPE = (1280, 1024)  # rows x cols of the synthetic radiographs
# (model, input side, batch size, batches): the first batch is outside the timer, so
# each run times batches 2..k (1-8 s). Few images: each run also pays a process start
# and a model load (2-8 s), and 3 repeats x 16 runs should take minutes, not tens.
CASES = [("vit_s14", 224, 8, 3), ("vit_b14", 224, 4, 2), ("vit_s14", 518, 2, 2), ("vit_b14", 518, 1, 2)]
NAMES = {"vit_s14": "ViT-S/14", "vit_b14": "ViT-B/14"}
PROGRESS = re.compile(r"embedded (\d+)/(\d+) images")


def timed_run(cmd, env, cpus):
    """Runs one side, timestamping its progress lines on stderr as they arrive. Returns
    launch -> first batch (s), images/s from the first batch's line to the last's, and
    the side's stdout."""
    launch = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: os.sched_setaffinity(0, cpus))
    marks, tail = [], []
    for line in proc.stderr:
        m = PROGRESS.search(line)
        if m:
            marks.append((time.perf_counter(), int(m.group(1))))
        tail = (tail + [line])[-20:]
    out = proc.stdout.read()
    if proc.wait() != 0 or len(marks) < 2:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{''.join(tail)}")
    (t0, n0), (t1, n1) = marks[0], marks[-1]
    return {"first_batch_s": t0 - launch, "images_per_s": (n1 - n0) / (t1 - t0), "timed_s": t1 - t0,
            "stdout": out}


def main():
    ap = parser(__doc__, 3)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    radflow, plugins = os.path.join(build, "bin", "radflow"), os.path.join(build, "plugins")
    for path in (radflow, os.path.join(build, "bin", "radflow-worker"), os.path.join(plugins, "embed.so")):
        if not os.path.exists(path):
            raise SystemExit(f"{path} is missing: bench/embed needs a LibTorch build (RADFLOW_WITH_TORCH=ON)")
    allowed = sorted(os.sched_getaffinity(0))
    cores = len(allowed)
    load_before = os.getloadavg()[0]
    tmp = tempfile.mkdtemp(prefix="radflow-embed-bench-")
    try:
        images = max(b * k for _, _, b, k in CASES)
        subprocess.run([PY, PEER, "--make", tmp, "--make-images", str(images),
                        "--make-shape", "%dx%d" % SHAPE], check=True)
        # One folder per case with its first batch * batches images (hard links).
        folders = {}
        for model, size, batch, batches in CASES:
            folder = os.path.join(tmp, f"images_{batch * batches}")
            if not os.path.isdir(folder):
                os.makedirs(folder)
                for name in sorted(os.listdir(os.path.join(tmp, "images")))[:batch * batches]:
                    os.link(os.path.join(tmp, "images", name), os.path.join(folder, name))
            folders[model, size] = folder

        base = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "RADFLOW_CPUS")}
        # The peer gets what radflow-worker and the embed plugin give themselves: libgomp's
        # short spin (worker_cli.cpp) and the heap that keeps large freed buffers (cpu_runtime.h).
        peer_env = dict(base, GOMP_SPINCOUNT="10000", MALLOC_MMAP_MAX_="0", MALLOC_TRIM_THRESHOLD_="68719476736")
        rf = {(m, s, t): [] for m, s, _, _ in CASES for t in (1, cores)}
        py = {key: [] for key in rf}
        max_diff, min_gap = 0.0, float("inf")
        for repeat in range(a.repeat):
            for model, size, batch, _ in CASES:
                for threads in (1, cores):
                    cpus = set(allowed[:threads])  # one thread: both sides pinned to one core
                    common = ["--encoder", os.path.join(tmp, model), "--images", folders[model, size],
                              "--size", str(size), "--batch-size", str(batch)]
                    rf_out, py_out = os.path.join(tmp, "radflow.npy"), os.path.join(tmp, "torch.npy")
                    sides = [(rf, [radflow, "embed", *common, "--out", rf_out],
                              dict(base, RADFLOW_CPUS=str(threads), RADFLOW_PLUGIN_DIR=plugins)),
                             (py, [PY, PEER, *common, "--threads", str(threads), "--out", py_out], peer_env)]
                    for results, cmd, env in sides[::1 if repeat % 2 == 0 else -1]:  # who goes first alternates
                        results[model, size, threads].append(timed_run(cmd, env, cpus))
                    r = py[model, size, threads][-1]
                    r.update(json.loads(r["stdout"].strip().splitlines()[-1]))
                    # Same rows, same numbers? Every run's embeddings against the other side's.
                    if open(rf_out[:-4] + ".paths.txt").read() != open(py_out[:-4] + ".paths.txt").read():
                        raise SystemExit("the two sides embedded the images in different orders")
                    x, y = np.load(rf_out), np.load(py_out)
                    if x.shape != y.shape:
                        raise SystemExit(f"{model} at {size}: radflow gave {x.shape}, the peer {y.shape}")
                    max_diff = max(max_diff, float(np.abs(x - y).max()))
                    gaps = np.abs(x[:, None, :] - x[None, :, :]).max(-1)
                    min_gap = min(min_gap, float(gaps[~np.eye(len(x), dtype=bool)].min()))
        if max_diff > 1e-3:
            raise SystemExit(f"the embeddings differ by {max_diff:.2e}: the two sides do not compute the same thing")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    lines = header("bench/embed/run.py", a.repeat, load_before) + [
        f"Weights: a random ViT-S/14 (22 M parameters) and ViT-B/14 (86 M), seeded, in the Hugging Face "
        f"Dinov2 layout with a 37 × 37 position grid (as microsoft/rad-dino), one `model.safetensors` + "
        f"`config.json` each, which both sides read. Images: {images} synthetic {SHAPE[0]} × {SHAPE[1]} "
        f"16-bit DX DICOMs. fp32 on the CPU, CLS pooling. radflow: `radflow embed` with `RADFLOW_CPUS` = "
        f"the threads; peer: torch_side.py, Debian's PyTorch 1.13 (the same libtorch), "
        f"pydicom + numpy + torch for the preprocessing, `torch.set_num_threads`. One thread: both pinned "
        f"to one core. In the timer: from the first batch's progress line to the last's, so the "
        f"decode, preprocessing and forward of every batch but the first; process start, model load, "
        f"the first batch and the `.npy` write are outside it (the start-up rows show them). "
        f"Both sides' embeddings agree to {max_diff:.1e} in every run (largest absolute difference; "
        f"the values are O(1), and the rows of two different images differ by at least {min_gap:.1e}).",
        "",
        "| figure | radflow | peer (PyTorch) | ratio (radflow / peer) | peer's timed window: preprocessing |",
        "| --- | --- | --- | --- | --- |",
    ]
    for model, size, batch, batches in CASES:
        for threads in (1, cores):
            r = [x["images_per_s"] for x in rf[model, size, threads]]
            p = [x["images_per_s"] for x in py[model, size, threads]]
            share = med([x["preprocess_s"] / x["timed_s"] for x in py[model, size, threads]])
            label = "1 thread (one core)" if threads == 1 else f"{threads} threads"
            timed = batch * (batches - 1)
            lines.append(f"| {NAMES[model]} at {size}, batch {batch}, {timed} image{'s' * (timed > 1)} timed, "
                         f"{label}, images/s | {med(r):.2f} ({runs(r, '%.2f')}) | {med(p):.2f} ({runs(p, '%.2f')}) "
                         f"| {med(r) / med(p):.2f}x | {100 * share:.0f}% |")
    for model, size, batch, _ in CASES:
        if size != 224:
            continue
        r = [x["first_batch_s"] for x in rf[model, size, cores]]
        p = [x["first_batch_s"] for x in py[model, size, cores]]
        load = med([x["load_s"] for x in py[model, size, cores]])
        lines.append(f"| {NAMES[model]} start-up: launch → first batch of {batch} at {size} embedded, "
                     f"{cores} threads, s (lower is better) | {med(r):.2f} ({runs(r, '%.2f')}) "
                     f"| {med(p):.2f} ({runs(p, '%.2f')}); of which reading the weights {load:.2f} "
                     f"| {med(r) / med(p):.2f}x | |")
    write_section("embed", lines, a.no_write)


if __name__ == "__main__":
    main()
