#!/usr/bin/env python3
"""Python PyTorch reference for bench_pretrain_step: the same DINOv2 step, written the
way dinov2/ (ssl_meta_arch.py, layers/, loss/) writes it, on fixed pre-made crops.
Two configurations (--config), as bench_pretrain_step's:

vit-s-224 (default). Model: ViT-S/14 at 224 (patch conv, CLS, learnable pos embed
resized bicubically for the 7x7 local grid, mask token, 12 pre-norm blocks with
LayerScale 1e-5 and drop path 0.3 in DINOv2's subset form
(drop_add_residual_stochastic_depth: each branch runs on floor(0.7 n) of a crop
batch's n crops), final LayerNorm), the shared DINO/iBOT head (384 -> 2048 -> 2048 ->
256, L2-normalise, weight-normalised 256 -> 65536), an EMA teacher.
Loss: DINO CLS loss over 2 global + 4 local crops with centering (teacher temp 0.04),
iBOT masked-patch loss (its own center), KoLeo 0.1 per global crop; backward, clip 3.0
per submodule, AdamW with DINOv2's param groups (layer-wise lr decay 0.9, patch-embed
x0.2, no wd on bias/norm/gamma), EMA momentum 0.992.

tiny-demo: the demo workflow's pretrain step as the pretrain plugin resolves it
(arch tiny, image_size 112, batch_size 16): ViT 96 wide, 4 deep, 4 heads, patch 14,
LayerScale 1.0, no drop path, head 96 -> 128 -> 128 -> 64 -> 256, 2 global crops (112,
an 8x8 grid) + 2 local crops (56, 4x4), Sinkhorn-Knopp teacher targets (3 iterations,
DINOv2's sinkhorn_knopp_teacher, for the CLS and the masked patch targets; no centers),
teacher temp 0.04, EMA momentum 0.99; losses, clipping and AdamW groups as above.

Includes: everything from the crops on. Excludes: augmentation (the crops are fixed
random tensors of the right sizes) and mask generation (masks are drawn once per step
with DINOv2's stratified ratios, as random patch sets, outside the timer).

Prints "RESULT key=value" lines for run.sh.
Usage: reference.py [--config vit-s-224|tiny-demo] --steps N --warmup W --threads T
"""
import argparse
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {
    "vit-s-224": dict(D=384, DEPTH=12, HEADS=6, PATCH=14, IMG=224, K=65536, HIDDEN=2048, BOTTLENECK=256,
                      B=16, N_GLOBAL=2, N_LOCAL=4, LOCAL=98, LS_INIT=1e-5, DROP=0.3, SINKHORN=False,
                      MOMENTUM=0.992),
    "tiny-demo": dict(D=96, DEPTH=4, HEADS=4, PATCH=14, IMG=112, K=256, HIDDEN=128, BOTTLENECK=64,
                      B=16, N_GLOBAL=2, N_LOCAL=2, LOCAL=56, LS_INIT=1.0, DROP=0.0, SINKHORN=True,
                      MOMENTUM=0.99),
}
# The module's globals are the selected configuration's (main() sets them before any
# module is built); the default is vit-s-224.
globals().update(CONFIGS["vit-s-224"])


def add_residual_on_subset(x, branch, rate):
    """dinov2/layers/block.py drop_add_residual_stochastic_depth."""
    b = x.shape[0]
    keep = max(int(b * (1 - rate)), 1)
    index = torch.randperm(b, device=x.device)[:keep]
    residual = branch(x[index])
    return torch.index_add(x.flatten(1), 0, index, residual.to(x.dtype).flatten(1), alpha=b / keep).view_as(x)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(D, 3 * D)
        self.proj = nn.Linear(D, D)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, HEADS, c // HEADS).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * (c // HEADS) ** -0.5, qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    def __init__(self, drop):
        super().__init__()
        self.norm1 = nn.LayerNorm(D, eps=1e-6)
        self.attn = Attention()
        self.ls1 = nn.Parameter(LS_INIT * torch.ones(D))
        self.norm2 = nn.LayerNorm(D, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(D, 4 * D), nn.GELU(), nn.Linear(4 * D, D))
        self.ls2 = nn.Parameter(LS_INIT * torch.ones(D))
        self.drop = drop

    def forward(self, x):
        attn = lambda t: self.attn(self.norm1(t)) * self.ls1
        mlp = lambda t: self.mlp(self.norm2(t)) * self.ls2
        if self.training and self.drop > 0:
            x = add_residual_on_subset(x, attn, self.drop)
            return add_residual_on_subset(x, mlp, self.drop)
        x = x + attn(x)
        return x + mlp(x)


class ViT(nn.Module):
    def __init__(self, drop):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, D, PATCH, PATCH)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + (IMG // PATCH) ** 2, D) * 0.02)
        self.mask_token = nn.Parameter(torch.zeros(1, D))
        self.blocks = nn.ModuleList([Block(drop) for _ in range(DEPTH)])
        self.norm = nn.LayerNorm(D, eps=1e-6)

    def pos(self, grid):
        m = IMG // PATCH
        if grid == m:
            return self.pos_embed
        patch = self.pos_embed[:, 1:].reshape(1, m, m, D).permute(0, 3, 1, 2)
        patch = F.interpolate(patch, scale_factor=(grid + 0.1) / m, mode="bicubic")
        return torch.cat([self.pos_embed[:, :1], patch.permute(0, 2, 3, 1).reshape(1, -1, D)], 1)

    def forward(self, x, masks=None):
        grid = x.shape[-1] // PATCH
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        if masks is not None:
            x = torch.where(masks.unsqueeze(-1), self.mask_token.to(x.dtype).unsqueeze(0), x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos(grid)
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        return x[:, 0], x[:, 1:]


class DinoHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(D, HIDDEN), nn.GELU(), nn.Linear(HIDDEN, HIDDEN), nn.GELU(),
                                 nn.Linear(HIDDEN, BOTTLENECK))
        self.last_layer = nn.utils.weight_norm(nn.Linear(BOTTLENECK, K, bias=False))
        self.last_layer.weight_g.data.fill_(1)

    def forward(self, x):
        x = F.normalize(self.mlp(x), dim=-1, p=2, eps=1e-12)
        return self.last_layer(x)


class SslModel(nn.Module):
    def __init__(self, drop):
        super().__init__()
        self.backbone = ViT(drop)
        self.dino_head = DinoHead()


def softmax_centered(logits, center, temp):
    return F.softmax((logits - center) / temp, dim=-1)


@torch.no_grad()
def sinkhorn_knopp(logits, temp, n_iterations=3):
    """dinov2/loss/dino_clstoken_loss.py sinkhorn_knopp_teacher (single process), with the
    max subtracted first as radflow's sinkhorn_knopp does."""
    q = torch.exp((logits.float() - logits.max()) / temp).t()
    b, k = q.shape[1], q.shape[0]
    q /= q.sum()
    for _ in range(n_iterations):
        q /= q.sum(dim=1, keepdim=True)
        q /= k
        q /= q.sum(dim=0, keepdim=True)
        q /= b
    q *= b
    return q.t()


def koleo(x, eps=1e-8):
    x = F.normalize(x, eps=eps, p=2, dim=-1)
    dots = x @ x.t()
    dots.view(-1)[:: x.shape[0] + 1].fill_(-1)
    idx = dots.max(dim=1).indices
    return -torch.log(F.pairwise_distance(x, x[idx], 2, eps=eps) + eps).mean()


def param_groups(model):
    groups = {}
    for name, p in model.named_parameters():
        lr_mult, wd_mult, last = 1.0, 1.0, "last_layer" in name
        if name.startswith("backbone."):
            if any(k in name for k in ("pos_embed", "patch_embed", "mask_token", "cls_token")):
                layer = 0
            elif ".blocks." in name:
                layer = int(name.split(".blocks.")[1].split(".")[0]) + 1
            else:
                layer = DEPTH + 1
            lr_mult = 0.9 ** (DEPTH + 1 - layer) * (0.2 if "patch_embed" in name else 1.0)
        if name.endswith(".bias") or "norm" in name or "gamma" in name or ".ls" in name:
            wd_mult = 0.0
        groups.setdefault((lr_mult, wd_mult, last), []).append(p)
    return [{"params": ps, "lr": 1e-4 * lm, "weight_decay": 0.04 * wm} for (lm, wm, _), ps in groups.items()]


def make_masks(gen):
    n = (IMG // PATCH) ** 2
    n_masked = int(2 * B * 0.5)
    probs = torch.linspace(0.1, 0.5, n_masked + 1)
    masks = torch.zeros(2 * B, n, dtype=torch.bool)
    for i in range(n_masked):
        ratio = float(probs[i] + (probs[i + 1] - probs[i]) * torch.rand(1, generator=gen))
        masks[i, torch.randperm(n, generator=gen)[: int(n * ratio)]] = True
    return masks[torch.randperm(2 * B, generator=gen)]


def step(student, teacher, opt, centers, globals_, locals_, masks):
    t_temp, s_temp, momentum = 0.04, 0.1, MOMENTUM
    mask_idx = masks.flatten().nonzero().flatten()
    weights = (1 / masks.sum(-1).clamp(min=1)).unsqueeze(-1).expand_as(masks)[masks]
    with torch.no_grad():
        t_cls, t_patch = teacher.backbone(globals_)
        t_cls_logits = teacher.dino_head(t_cls)
        t_patch_logits = teacher.dino_head(t_patch.flatten(0, 1).index_select(0, mask_idx))
        if SINKHORN:
            t_cls_probs = sinkhorn_knopp(t_cls_logits, t_temp)
            t_patch_probs = sinkhorn_knopp(t_patch_logits, t_temp)
        else:
            t_cls_probs = softmax_centered(t_cls_logits, centers[0], t_temp)
            t_patch_probs = softmax_centered(t_patch_logits, centers[1], t_temp)
            centers[0].mul_(0.9).add_(t_cls_logits.mean(0, keepdim=True), alpha=0.1)
            centers[1].mul_(0.9).add_(t_patch_logits.mean(0, keepdim=True), alpha=0.1)
        entropy = lambda p: -(p * torch.log(p.clamp_min(1e-30))).sum(-1)
        entropy(t_cls_probs).mean().item(), entropy(t_cls_probs.mean(0)).item()

    s_cls, s_patch = student.backbone(globals_, masks)
    s_local_cls, _ = student.backbone(locals_)
    s_global_logits = student.dino_head(s_cls)
    s_local_logits = student.dino_head(s_local_cls)
    s_patch_logits = student.dino_head(s_patch.flatten(0, 1).index_select(0, mask_idx))

    n_pairs = N_GLOBAL * (N_GLOBAL - 1) + N_LOCAL * N_GLOBAL
    t_chunks = t_cls_probs.chunk(N_GLOBAL)
    local_loss = sum(-(t * F.log_softmax(s / s_temp, -1)).sum(-1).mean()
                     for s in s_local_logits.chunk(N_LOCAL) for t in t_chunks) / n_pairs
    g = s_global_logits.chunk(N_GLOBAL)
    global_loss = sum(-(t_chunks[1 - i] * F.log_softmax(g[i] / s_temp, -1)).sum(-1).mean()
                      for i in range(N_GLOBAL)) / n_pairs
    ibot = (-(t_patch_probs * F.log_softmax(s_patch_logits.float() / s_temp, -1)).sum(-1) * weights).sum() / (2 * B)
    ko = sum(koleo(c) for c in s_cls.chunk(N_GLOBAL))
    loss = local_loss + global_loss + 0.1 * ko + ibot

    opt.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(student.backbone.parameters(), 3.0)
    nn.utils.clip_grad_norm_(student.dino_head.parameters(), 3.0)
    opt.step()
    with torch.no_grad():
        t_params = [p for p in teacher.parameters()]
        s_params = [p for p in student.parameters()]
        torch._foreach_mul_(t_params, momentum)
        torch._foreach_add_(t_params, s_params, alpha=1 - momentum)
    return loss.item(), int(mask_idx.numel())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", choices=sorted(CONFIGS), default="vit-s-224")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    globals().update(CONFIGS[args.config])
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    print(f"python torch {torch.__version__}, threads {torch.get_num_threads()}, config {args.config}")
    student = SslModel(DROP)
    teacher = SslModel(0.0)
    teacher.load_state_dict(student.state_dict())
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    student.train()
    opt = torch.optim.AdamW(param_groups(student), betas=(0.9, 0.999))
    centers = [torch.zeros(1, K), torch.zeros(1, K)]
    globals_ = torch.randn(N_GLOBAL * B, 3, IMG, IMG)
    locals_ = torch.randn(N_LOCAL * B, 3, LOCAL, LOCAL)
    gen = torch.Generator().manual_seed(2)
    total_s, total_masked, times = 0.0, 0, []
    for i in range(args.warmup + args.steps):
        masks = make_masks(gen)
        start = time.perf_counter()
        loss, m = step(student, teacher, opt, centers, globals_, locals_, masks)
        s = time.perf_counter() - start
        kind = "warm-up step" if i < args.warmup else "step"
        print(f"{kind} {i}: {s:.4f} s, {m} masked patches, loss {loss:.4f}", flush=True)
        if i >= args.warmup:
            times.append(s)
            total_s += s
            total_masked += m
    step_s = total_s / args.steps
    print(f"RESULT config={args.config}")
    print(f"RESULT batch={B}")
    print(f"RESULT steps={args.steps}")
    print(f"RESULT step_s={step_s:.5f}")
    print(f"RESULT step_median_s={statistics.median(times):.5f}")
    print(f"RESULT images_per_s={B / step_s:.4f}")
    print(f"RESULT mean_masked={total_masked / args.steps:.1f}")


if __name__ == "__main__":
    main()
