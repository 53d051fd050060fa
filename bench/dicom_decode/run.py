#!/usr/bin/env python3
"""`make bench`'s DICOM section: radflow's decode + RAD-DINO preprocessing against
pydicom + numpy + torch's resize on the same files, alternating, and the section of
BENCHMARKS.md between the dicom_decode markers rewritten (bench/dicom_decode/README.md).

  run.py BUILD_DIR [--repeat K] [--no-write]
"""
import glob, json, os, subprocess, sys, tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from bench_section import parser, goal, header, med, runs, write_section  # noqa: E402

PY = "/usr/bin/python3"  # Debian's, with python3-pydicom, numpy and python3-torch
CORPUS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "fuzz", "corpus", "dicom")


def side(args):
    out = subprocess.run(args, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def pydicom_reads(path):
    code = "import pydicom, sys; pydicom.dcmread(sys.argv[1]).pixel_array"
    return subprocess.run([PY, "-c", code, path], capture_output=True).returncode == 0


def main():
    ap = parser(__doc__, 5)
    a = ap.parse_args()
    subprocess.run(["cmake", "--build", a.build, "--target", "bench_dicom_decode"], check=True,
                   stdout=subprocess.DEVNULL)
    rf_bin = os.path.join(a.build, "bin", "bench_dicom_decode")
    cores = os.cpu_count()
    load_before = os.getloadavg()[0]
    tmp = tempfile.mkdtemp(prefix="radflow-dicom-bench-")
    subprocess.run([PY, os.path.join(HERE, "pydicom_side.py"), "--make", tmp], check=True)
    explicit = os.path.join(tmp, "dx_2500x2048_explicit.dcm")
    rle = os.path.join(tmp, "dx_2500x2048_rle.dcm")
    corpus = sorted(glob.glob(os.path.join(CORPUS, "*.dcm")))
    small = [f for f in corpus if pydicom_reads(f)]
    unread = [os.path.basename(f) for f in corpus if f not in small]

    # Same output? radflow's tensors against the peer's, once.
    dump = os.path.join(tmp, "dump")
    os.makedirs(dump)
    side([rf_bin, "--threads", "1", "--passes", "1", "--dump", dump, explicit, rle, *small])
    diff = side([PY, os.path.join(HERE, "pydicom_side.py"), "--compare", dump, explicit, rle, *small])
    max_diff = max(diff["max_abs_diff"].values())

    # Passes per run: enough that radflow's side of a run lasts ~0.1 s (the small files
    # take ~0.3 ms each), so one preemption on the shared 2-core machine does not decide it.
    cases = {"explicit": ([explicit], 8), "rle": ([rle], 8), "small": (small, 20)}
    rf = {(c, t): [] for c in cases for t in (1, cores)}
    py = {(c, t): [] for c in cases for t in (1, cores)}
    for _ in range(a.repeat):
        for case, (files, passes) in cases.items():
            for threads in (1, cores):
                rf[case, threads].append(side([rf_bin, "--threads", str(threads), "--passes", str(passes), *files]))
                py[case, threads].append(side([PY, os.path.join(HERE, "pydicom_side.py"), "--procs",
                                               str(threads), "--passes", str(passes), *files]))

    def ms(results, name):
        return [r["median_ms"][name] for r in results]

    def ips(results):
        return [r["images_per_s"] for r in results]

    lines = header("bench/dicom_decode/run.py", a.repeat, load_before) + [
        "Peer: pydicom 2.3.1 + numpy 1.24 + torch 1.13's `interpolate(bicubic, antialias=True)` "
        "(Debian's), one process per thread (a multiprocessing pool) each with `torch.set_num_threads(1)`. "
        f"Both sides' tensors agree to {max_diff:.1e} (largest absolute difference, normalised units, over every file).",
        "",
        "| figure | radflow | peer | speed ratio (radflow / pydicom) | goal |",
        "| --- | --- | --- | --- | --- |",
    ]
    for case, label in (("explicit", "DX 2500×2048 16-bit, Explicit VR LE (10 MB)"),
                        ("rle", "the same DX, RLE Lossless (6 MB)")):
        name = os.path.basename(cases[case][0][0])
        r1, p1 = ms(rf[case, 1], name), ms(py[case, 1], name)
        ratio = med(p1) / med(r1)
        read = med([r["read_median_ms"][name] for r in rf[case, 1]])
        lines.append(f"| {label}, one thread, ms per image | {med(r1):.0f} ms ({runs(r1, '%.0f')}); "
                     f"of which read_image {read:.0f} ms | {med(p1):.0f} ms ({runs(p1, '%.0f')}) "
                     f"| {ratio:.2f}x | ≥ 5x pydicom: {goal(ratio >= 5)} |")
        rn, pn = ips(rf[case, cores]), ips(py[case, cores])
        lines.append(f"| {label}, {cores} threads, images/s | {med(rn):.1f} ({runs(rn)}) "
                     f"| {med(pn):.1f} ({runs(pn)}) | {med(rn) / med(pn):.2f}x | |")
    r1, p1 = ips(rf["small", 1]), ips(py["small", 1])
    rn, pn = ips(rf["small", cores]), ips(py["small", cores])
    lines += [
        f"| the repo's {len(small)} small test files pydicom can decode (tests/fuzz/corpus/dicom), "
        f"one thread, images/s | {med(r1):.0f} ({runs(r1, '%.0f')}) | {med(p1):.0f} ({runs(p1, '%.0f')}) "
        f"| {med(r1) / med(p1):.2f}x | ≥ 5x pydicom: {goal(med(r1) / med(p1) >= 5)} |",
        f"| the same, {cores} threads, images/s | {med(rn):.0f} ({runs(rn, '%.0f')}) "
        f"| {med(pn):.0f} ({runs(pn, '%.0f')}) | {med(rn) / med(pn):.2f}x | |",
        "",
        f"Not in the peer's set (pydicom without GDCM/pylibjpeg cannot decode them; radflow does): "
        f"{', '.join(unread)}.",
    ]
    write_section("dicom_decode", lines, a.no_write)


if __name__ == "__main__":
    main()
