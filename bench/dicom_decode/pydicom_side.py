#!/usr/bin/env python3
"""The peer of bench/dicom_decode (README.md there): pydicom 2.3 + numpy + torch 1.13's
resize doing what radflow's read_image + rad_dino_input do, on the same files.

  pydicom_side.py --procs P --passes K [--compare DIR] FILE...
  pydicom_side.py --make DIR      writes the large DX and its RLE copy into DIR

Per file: dcmread, pixel_array (pydicom decodes every frame; radflow the first only),
the first frame, modality LUT (slope, intercept) in float32, the VOI window of the
file (linear, PS3.3 C.11.2.1.2.1) or else min-max, MONOCHROME1 inverted; then
torch.nn.functional.interpolate(mode="bicubic", antialias=True) to a 518 shortest
edge (the same kernel as radflow's: a = -0.5 widened by the scale when shrinking, as
PIL; both in float32), clamp to [0, 1], centre crop 518, zero pad
if smaller, normalise (x - 0.5307) / 0.2583, grey copied to 3 channels. K passes over
the files on P processes (a multiprocessing pool, the way a Python loader goes
parallel; each with torch.set_num_threads(1)). Prints one JSON line like radflow's
side. --compare DIR reads radflow's tensors (bench_dicom_decode --dump) and adds the
largest absolute difference per file.
"""
import argparse, json, multiprocessing, os, statistics, sys, time

import numpy as np
import pydicom
import torch
import torch.nn.functional as F

SIZE, MEAN, STD = 518, 0.5307, 0.2583


def first(value):
    if value is None:
        return None
    if isinstance(value, pydicom.multival.MultiValue):
        value = value[0]
    return float(value)


def display(ds):
    arr = ds.pixel_array
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if frames > 1:
        arr = arr[0]
    spp = int(getattr(ds, "SamplesPerPixel", 1))
    if spp == 1:
        arr = arr[..., None]
    values = arr.astype(np.float32) * np.float32(first(getattr(ds, "RescaleSlope", 1)) or 1) \
        + np.float32(first(getattr(ds, "RescaleIntercept", 0)) or 0)
    center, width = first(ds.get("WindowCenter")), first(ds.get("WindowWidth"))
    if center is not None and width is not None and width >= 1:
        lower = center - 0.5 - (width - 1) / 2
        upper = center - 0.5 + (width - 1) / 2
        v = (values.astype(np.float64) - (center - 0.5)) / (width - 1) + 0.5
        v = np.where(values <= lower, 0.0, np.where(values > upper, 1.0, v))
        values = v.astype(np.float32)
    else:
        lo, hi = float(values.min()), float(values.max())
        span = hi - lo if hi > lo else 1.0
        values = np.clip((values - lo) / span, 0, 1).astype(np.float32)
    if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
        values = 1.0 - values
    return values  # rows x cols x channels


def preprocess(path):
    values = display(pydicom.dcmread(path))
    rows, cols, ch = values.shape
    if rows <= cols:
        rr, rc = SIZE, int(SIZE * cols / rows)
    else:
        rr, rc = int(SIZE * rows / cols), SIZE
    t = torch.from_numpy(np.ascontiguousarray(values.transpose(2, 0, 1)))[None]
    if (rr, rc) != (rows, cols):
        t = F.interpolate(t, size=(rr, rc), mode="bicubic", antialias=True, align_corners=False)
    t = t[0].clamp_(0, 1)
    out = torch.zeros(ch, SIZE, SIZE)
    top = (rr - SIZE) // 2 if rr >= SIZE else -((SIZE - rr) // 2)
    left = (rc - SIZE) // 2 if rc >= SIZE else -((SIZE - rc) // 2)
    ys, xs = max(top, 0), max(left, 0)
    yd, xd = max(-top, 0), max(-left, 0)
    h, w = min(rr - ys, SIZE - yd), min(rc - xs, SIZE - xd)
    out[:, yd:yd + h, xd:xd + w] = t[:, ys:ys + h, xs:xs + w]
    out = (out - MEAN) / STD
    if ch == 1:
        out = out.expand(3, SIZE, SIZE).contiguous()
    return out


def timed(path):
    s = time.perf_counter()
    out = preprocess(path)
    assert tuple(out.shape) == (3, SIZE, SIZE)
    return path, 1000 * (time.perf_counter() - s)


def init_worker(_=None):
    torch.set_num_threads(1)


def dx_dataset(pixels, window_center, window_width):
    """A DX-for-presentation dataset (Explicit VR Little Endian, 16 bits allocated, 12
    stored, MONOCHROME2) around `pixels`, a uint16 array of rows x cols; the bench's
    synthetic images (here and bench/embed) are all this kind."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    rows, cols = pixels.shape
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray for presentation
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientID = "DX", "BENCH"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = window_center, window_width
    ds.PixelData = pixels.tobytes()
    return ds


def make(folder):
    """A 2500 x 2048 16-bit DX (12 bits stored, smooth body-like content plus noise,
    seeded) in Explicit VR Little Endian, and its RLE Lossless copy."""
    from pydicom.uid import RLELossless
    rows, cols = 2500, 2048
    rng = np.random.default_rng(16)
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float32)
    body = np.exp(-(((x - cols / 2) / (cols / 3)) ** 2 + ((y - rows / 2) / (rows / 2.5)) ** 2))
    ribs = 0.15 * np.sin(y / 40.0) * body
    pixels = (300 + 3000 * (body + ribs) + rng.normal(0, 20, (rows, cols))).clip(0, 4095).astype(np.uint16)
    ds = dx_dataset(pixels, window_center=2000, window_width=3600)
    big = os.path.join(folder, "dx_2500x2048_explicit.dcm")
    ds.save_as(big, write_like_original=False)
    ds.compress(RLELossless, pixels)
    ds.save_as(os.path.join(folder, "dx_2500x2048_rle.dcm"), write_like_original=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*")
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--passes", type=int, default=1)
    ap.add_argument("--compare")
    ap.add_argument("--make")
    a = ap.parse_args()
    if a.make:
        make(a.make)
        return
    torch.set_num_threads(1)
    extra = {}
    if a.compare:
        diff = {}
        for f in a.files:
            ours = preprocess(f).numpy()
            theirs = np.fromfile(os.path.join(a.compare, os.path.basename(f) + ".f32"), dtype=np.float32)
            diff[os.path.basename(f)] = float(np.abs(ours.ravel() - theirs).max())
        extra["max_abs_diff"] = diff
    tasks = [f for _ in range(a.passes) for f in a.files]
    if a.procs == 1:
        t0 = time.perf_counter()
        results = [timed(f) for f in tasks]
        wall = time.perf_counter() - t0
    else:
        # The pool's start is left out of the time, as radflow's threads' start is.
        with multiprocessing.Pool(a.procs, initializer=init_worker) as pool:
            pool.map(init_worker, range(a.procs))
            t0 = time.perf_counter()
            results = pool.map(timed, tasks, chunksize=1)
            wall = time.perf_counter() - t0
    per = {}
    for path, ms in results:
        per.setdefault(os.path.basename(path), []).append(ms)
    print(json.dumps({"procs": a.procs, "images": len(tasks), "wall_s": wall,
                      "images_per_s": len(tasks) / wall,
                      "median_ms": {k: statistics.median(v) for k, v in per.items()}, **extra}))


if __name__ == "__main__":
    main()
