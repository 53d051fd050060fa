#!/usr/bin/python3
"""The peer of bench/embed (README.md there): what `radflow embed` does, in Python
PyTorch on the same weights and the same files.

  torch_side.py --encoder DIR --images DIR --out FILE.npy --size N --batch-size B --threads T
  torch_side.py --make DIR     writes the two checkpoints and the images into DIR

Reads DIR/model.safetensors (parsed here: Debian has no `safetensors` module) in the
Hugging Face Dinov2 layout into a small DINOv2 ViT (below), lists DIR's *.dcm files in
name order (as radflow does for a folder), and per batch of B: each file through
bench/dicom_decode/pydicom_side.py's preprocess (pydicom + numpy + torch's antialiased
bicubic resize: window, shortest edge N, centre crop, mean 0.5307 / std 0.2583; checked
against radflow's own preprocessing there) at side N, then one forward under no_grad,
CLS after the final norm. Prints `embed: P% embedded k/n images` on stderr after each
batch, as `radflow embed` does, writes the N x D float32 .npy, and prints a JSON line
on stdout: the time spent preprocessing after the first batch, and the load time.
"""
import argparse, importlib.util, json, math, os, struct, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "pydicom_side", os.path.join(os.path.dirname(HERE), "dicom_decode", "pydicom_side.py"))
pydicom_side = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pydicom_side)

# ViT-S/14 and ViT-B/14 as DINOv2 / RAD-DINO: patch 14, 37 x 37 base grid (518 px).
ARCHS = {"vit_s14": (384, 6), "vit_b14": (768, 12)}
DEPTH, PATCH, GRID, EPS = 12, 14, 37, 1e-6


# --- safetensors: 8-byte little-endian header length, a JSON header, the raw bytes ---

def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {info['dtype']}; this reader takes F32 only")
        begin, end = info["data_offsets"]
        values = np.frombuffer(data, dtype="<f4", count=(end - begin) // 4, offset=8 + n + begin)
        out[name] = torch.from_numpy(values.reshape(info["shape"]).copy())
    return out


def write_safetensors(path, tensors):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, value in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(value.shape), "data_offsets": [offset, offset + value.nbytes]}
        offset += value.nbytes
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as safetensors writes it
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for value in tensors.values():
            f.write(np.ascontiguousarray(value, dtype="<f4").tobytes())


# --- the model: DINOv2's ViT, eval only (pre-norm blocks, LayerScale, final norm) ---

class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=EPS), nn.LayerNorm(dim, eps=EPS)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.fc1, self.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)
        self.ls1, self.ls2 = nn.Parameter(torch.ones(dim)), nn.Parameter(torch.ones(dim))

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q * (c // self.heads) ** -0.5) @ k.transpose(-2, -1)
        x = x + self.ls1 * self.proj((attn.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c))
        return x + self.ls2 * self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViT(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, PATCH, stride=PATCH)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, 1 + GRID * GRID, dim))
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(DEPTH))
        self.norm = nn.LayerNorm(dim, eps=EPS)

    def pos_embed(self, gh, gw):
        # As radflow's "huggingface" variant (a Dinov2 config.json): bicubic to the
        # grid's size, no antialias; the identity at the native grid.
        if (gh, gw) == (GRID, GRID):
            return self.pos
        grid = self.pos[:, 1:].reshape(1, GRID, GRID, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False)
        return torch.cat([self.pos[:, :1], grid.permute(0, 2, 3, 1).reshape(1, gh * gw, -1)], 1)

    def forward(self, images):
        x = self.patch(images).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1)
        x = x + self.pos_embed(images.shape[2] // PATCH, images.shape[3] // PATCH)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)[:, 0]


def load(folder):
    """A ViT from DIR/model.safetensors in the Hugging Face Dinov2 layout and DIR/config.json."""
    config = json.load(open(os.path.join(folder, "config.json")))
    t = read_safetensors(os.path.join(folder, "model.safetensors"))
    model = ViT(config["hidden_size"], config["num_attention_heads"])
    e = "embeddings."
    state = {"patch.weight": t[e + "patch_embeddings.projection.weight"],
             "patch.bias": t[e + "patch_embeddings.projection.bias"],
             "cls": t[e + "cls_token"], "pos": t[e + "position_embeddings"],
             "norm.weight": t["layernorm.weight"], "norm.bias": t["layernorm.bias"]}
    for i in range(DEPTH):
        hf, ours = f"encoder.layer.{i}.", f"blocks.{i}."
        a = hf + "attention.attention."
        for kind in ("weight", "bias"):
            state[ours + "qkv." + kind] = torch.cat([t[a + p + "." + kind] for p in ("query", "key", "value")])
            state[ours + "proj." + kind] = t[hf + "attention.output.dense." + kind]
            for name in ("norm1", "norm2", "mlp.fc1", "mlp.fc2"):
                state[ours + name.replace("mlp.", "") + "." + kind] = t[hf + name + "." + kind]
        state[ours + "ls1"], state[ours + "ls2"] = t[hf + "layer_scale1.lambda1"], t[hf + "layer_scale2.lambda1"]
    model.load_state_dict(state, strict=True)
    return model.eval()


# --- inputs: the two checkpoints and the images, seeded ---

def make_checkpoint(folder, dim, heads, rng):
    """Random weights in the Hugging Face Dinov2 layout with a Dinov2 config.json (as
    microsoft/rad-dino's): linear weights N(0, 0.02), LayerScale and norm gains near
    their trained scales, so that every block changes the tokens."""
    def normal(*shape, std=0.02, mean=0.0):
        return (mean + std * rng.standard_normal(shape, dtype=np.float32)).astype(np.float32)
    e = "embeddings."
    t = {e + "cls_token": normal(1, 1, dim), e + "mask_token": normal(1, dim),
         e + "position_embeddings": normal(1, 1 + GRID * GRID, dim),
         e + "patch_embeddings.projection.weight": normal(dim, 3, PATCH, PATCH, std=0.04),
         e + "patch_embeddings.projection.bias": normal(dim)}
    for i in range(DEPTH):
        p = f"encoder.layer.{i}."
        for norm in ("norm1", "norm2"):
            t[p + norm + ".weight"], t[p + norm + ".bias"] = normal(dim, std=0.1, mean=1.0), normal(dim)
        for part in ("query", "key", "value"):
            t[p + "attention.attention." + part + ".weight"] = normal(dim, dim)
            t[p + "attention.attention." + part + ".bias"] = normal(dim)
        t[p + "attention.output.dense.weight"], t[p + "attention.output.dense.bias"] = normal(dim, dim), normal(dim)
        t[p + "layer_scale1.lambda1"] = normal(dim, std=0.05, mean=0.3)
        t[p + "mlp.fc1.weight"], t[p + "mlp.fc1.bias"] = normal(4 * dim, dim), normal(4 * dim)
        t[p + "mlp.fc2.weight"], t[p + "mlp.fc2.bias"] = normal(dim, 4 * dim), normal(dim)
        t[p + "layer_scale2.lambda1"] = normal(dim, std=0.05, mean=0.3)
    t["layernorm.weight"], t["layernorm.bias"] = normal(dim, std=0.1, mean=1.0), normal(dim)
    os.makedirs(folder, exist_ok=True)
    write_safetensors(os.path.join(folder, "model.safetensors"), t)
    config = {"model_type": "dinov2", "architectures": ["Dinov2Model"], "hidden_size": dim,
              "num_hidden_layers": DEPTH, "num_attention_heads": heads, "mlp_ratio": 4.0, "hidden_act": "gelu",
              "layer_norm_eps": EPS, "image_size": GRID * PATCH, "patch_size": PATCH, "num_channels": 3,
              "qkv_bias": True, "layerscale_value": 1.0, "use_swiglu_ffn": False, "drop_path_rate": 0.0}
    json.dump(config, open(os.path.join(folder, "config.json"), "w"), indent=2)


def make_image(path, rows, cols, rng):
    """A DX-like 16-bit DICOM (12 bits stored, windowed): a bright body, two darker
    lungs, ribs, a heart, seeded noise."""
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float32)
    y, x = y / rows - 0.5, x / cols - 0.5
    body = np.exp(-((x / 0.38) ** 2 + (y / 0.55) ** 4))
    shift = rng.uniform(-0.03, 0.03)
    lungs = sum(np.exp(-(((x - cx) / 0.13) ** 2 + ((y + 0.02) / 0.28) ** 2)) for cx in (-0.17 + shift, 0.17 + shift))
    heart = np.exp(-(((x - 0.06) / 0.12) ** 2 + ((y - 0.12) / 0.12) ** 2))
    ribs = 0.12 * np.sin(y * rng.uniform(50, 70)) * lungs
    pixels = 400 + 2600 * body - 1500 * lungs + 900 * heart + 300 * ribs + rng.normal(0, 25, (rows, cols))
    ds = pydicom_side.dx_dataset(pixels.clip(0, 4095).astype(np.uint16), window_center=1800, window_width=3200)
    ds.save_as(path, write_like_original=False)


def make(folder, images, rows, cols):
    rng = np.random.default_rng(16)
    for name, (dim, heads) in ARCHS.items():
        make_checkpoint(os.path.join(folder, name), dim, heads, rng)
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    for i in range(images):
        make_image(os.path.join(folder, "images", f"cxr_{i:03d}.dcm"), rows, cols, rng)


# --- the run ---

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--make")
    ap.add_argument("--make-images", type=int, default=24)
    ap.add_argument("--make-shape", default="1280x1024", help="ROWSxCOLS of the images --make writes")
    ap.add_argument("--encoder")
    ap.add_argument("--images")
    ap.add_argument("--out")
    ap.add_argument("--size", type=int, default=GRID * PATCH)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    if a.make:
        rows, cols = map(int, a.make_shape.split("x"))
        make(a.make, a.make_images, rows, cols)
        return
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    model = load(a.encoder)
    load_s = time.perf_counter() - t0
    pydicom_side.SIZE = a.size  # its preprocess reads the side from there
    paths = sorted(os.path.join(a.images, f) for f in os.listdir(a.images) if f.endswith(".dcm"))
    rows, preprocess_s, forward_s = [], 0.0, 0.0
    with torch.no_grad():
        for start in range(0, len(paths), a.batch_size):
            t0 = time.perf_counter()
            batch = torch.stack([pydicom_side.preprocess(p) for p in paths[start:start + a.batch_size]])
            t1 = time.perf_counter()
            rows.append(model(batch))
            if start:  # the first batch is outside the timed window, as in run.py
                preprocess_s += t1 - t0
                forward_s += time.perf_counter() - t1
            done = min(start + a.batch_size, len(paths))
            print(f"embed: {math.floor(100 * done / len(paths)):3d}% embedded {done}/{len(paths)} images",
                  file=sys.stderr, flush=True)
    np.save(a.out, torch.cat(rows).numpy().astype(np.float32))
    with open(a.out[:-len(".npy")] + ".paths.txt", "w") as f:
        f.write("".join(os.path.abspath(p) + "\n" for p in paths))
    print(json.dumps({"load_s": load_s, "preprocess_s": preprocess_s, "forward_s": forward_s}))


if __name__ == "__main__":
    main()
