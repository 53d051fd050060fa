#include "plugins/synth-cxr/phantom_renderer.h"

#include <algorithm>
#include <cmath>

namespace radflow::synth {
namespace {

constexpr double kPi = 3.141592653589793;

double clamp01(double v) { return v < 0 ? 0 : (v > 1 ? 1 : v); }

// Smooth lattice noise in [0, 1): hashed corners, smoothstep-interpolated. Cheap
// enough to call per pixel, and a function of (x, y, seed) only.
double lattice(int64_t ix, int64_t iy, uint64_t seed) {
  uint64_t state = seed ^ (static_cast<uint64_t>(ix) * 0x9E3779B97F4A7C15ULL) ^
                   (static_cast<uint64_t>(iy) * 0xC2B2AE3D27D4EB4FULL);
  return static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;
}
double value_noise(double x, double y, uint64_t seed) {
  const double fx = std::floor(x), fy = std::floor(y);
  const auto ix = static_cast<int64_t>(fx), iy = static_cast<int64_t>(fy);
  double tx = x - fx, ty = y - fy;
  tx = tx * tx * (3 - 2 * tx);
  ty = ty * ty * (3 - 2 * ty);
  const double a = lattice(ix, iy, seed), b = lattice(ix + 1, iy, seed);
  const double c = lattice(ix, iy + 1, seed), d = lattice(ix + 1, iy + 1, seed);
  return (a + (b - a) * tx) + ((c + (d - c) * tx) - (a + (b - a) * tx)) * ty;
}

// One lung in body units. The right lung (patient's) is on the image's left (x < 0).
struct Lung {
  double cx, cy, rx_lateral, rx_medial, ry, lateral_dir;
  // Lung-local coordinates (see CaseSpec) of the body point (x, y).
  void local(double x, double y, double* lx, double* ly) const {
    const double dx = (x - cx) * lateral_dir;
    *lx = dx / (dx > 0 ? rx_lateral : rx_medial);
    *ly = (y - cy) / ry;
  }
  void body(double lx, double ly, double* x, double* y) const {
    *x = cx + lateral_dir * lx * (lx > 0 ? rx_lateral : rx_medial);
    *y = cy + ly * ry;
  }
};

double segment_distance(double px, double py, double ax, double ay, double bx, double by) {
  const double vx = bx - ax, vy = by - ay;
  const double t = std::clamp(((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy), 0.0, 1.0);
  return std::hypot(px - ax - t * vx, py - ay - t * vy);
}

}  // namespace

Phantom render_phantom(const CaseSpec& c, int size, Rng& rng) {
  Phantom out;
  out.size = size;
  const size_t n = static_cast<size_t>(size) * size;
  out.pixels.assign(n, 0.0f);
  auto mask = [&](const std::string& name) -> std::vector<uint8_t>& {
    auto& m = out.masks[name];
    if (m.empty()) m.assign(n, 0);
    return m;
  };
  std::vector<uint8_t>& lungs_mask = mask("lungs");
  std::vector<uint8_t>& heart_mask = mask("heart");
  const auto& has = c.present;
  std::vector<uint8_t>* effusion_mask = has[kEffusion] ? &mask("effusion") : nullptr;
  std::vector<uint8_t>* ptx_mask = has[kPneumothorax] ? &mask("pneumothorax") : nullptr;
  std::vector<uint8_t>* nodule_mask = has[kNodule] ? &mask("nodule") : nullptr;
  std::vector<uint8_t>* consolidation_mask = has[kConsolidation] ? &mask("consolidation") : nullptr;
  std::vector<uint8_t>* tube_mask = has[kChestTube] ? &mask("chest_tube") : nullptr;

  // Demographics act on structure, not on the histogram (habitus, drawn per patient,
  // sets that): older patients get somewhat less dense bone and calcified costal
  // cartilage; women a slightly narrower outline, narrower lungs and breast shadows,
  // men shoulder girdle muscles.
  const double age01 = clamp01((c.age_years - 18) / 72);
  const double soft = c.soft_tissue;
  const double bone = c.bone_density * (1 - 0.25 * age01);
  const double calcification = clamp01((c.age_years - 50) / 35);
  const double body_half_width = c.body_half_width - (c.female ? 0.015 : 0.0);

  const Lung lungs[2] = {
      {-0.4, -0.02, c.lung_half_width, 0.8 * c.lung_half_width, c.lung_half_height, -1},
      {0.4, 0.02, c.lung_half_width, 0.8 * c.lung_half_width, c.lung_half_height, +1}};
  const double heart_cx = 0.03 + 0.35 * c.heart_half_width, heart_cy = 0.3, heart_ry = 0.22;
  auto lung_of = [&](Side side) -> const Lung& { return lungs[side == Side::kLeft ? 1 : 0]; };

  double nodule_x = 0, nodule_y = 0;
  lung_of(c.nodule_side).body(c.nodule_lx, c.nodule_ly, &nodule_x, &nodule_y);
  // Chest tube: enters at the lower lateral chest wall, runs up to the apex.
  double tube[9][2];
  {
    const Lung& lung = lung_of(c.tube_side);
    const double x0 = lung.lateral_dir * 0.86, y0 = 0.5;
    double x1, y1;
    lung.body(0.05, -0.75, &x1, &y1);
    for (int i = 0; i < 9; ++i) {
      const double t = i / 8.0;
      tube[i][0] = x0 + (x1 - x0) * t + c.tube_bend * std::sin(kPi * t);
      tube[i][1] = y0 + (y1 - y0) * t;
    }
  }

  const double cos_r = std::cos(c.rotation_rad), sin_r = std::sin(c.rotation_rad);
  const uint64_t seed = c.texture_seed;
  for (int py = 0; py < size; ++py) {
    for (int px = 0; px < size; ++px) {
      const size_t i = static_cast<size_t>(py) * size + px;
      // Image -> body coordinates: undo shift, scale and rotation.
      const double u = ((px + 0.5) / size * 2 - 1 - c.shift_x) / c.scale;
      const double v = ((py + 0.5) / size * 2 - 1 - c.shift_y) / c.scale;
      const double x = cos_r * u + sin_r * v, y = -sin_r * u + cos_r * v;
      const double ax = std::fabs(x);

      double val = 0.03;  // air
      const double bx = ax / body_half_width, by = (y - 0.15) / 1.15;
      const bool in_body = bx * bx * bx * bx + by * by * by * by < 1;
      if (in_body) {
        val = soft;
        if (c.female) {
          const double ex = (ax - 0.42) / 0.3, ey = (y - 0.6) / 0.2, e = ex * ex + ey * ey;
          if (e < 1) val += 0.06 * (1 - e);
        } else if (y < -0.35 && ax > 0.5) {
          val += 0.04;  // shoulder girdle muscles
        }
      }
      const double hx = (x - heart_cx) / c.heart_half_width, hy = (y - heart_cy) / heart_ry;
      const bool in_heart = in_body && hx * hx + hy * hy < 1;
      const Lung& lung = x < 0 ? lungs[0] : lungs[1];
      const Side side = x < 0 ? Side::kRight : Side::kLeft;
      double lx, ly;
      lung.local(x, y, &lx, &ly);
      const double d = std::sqrt(lx * lx + ly * ly);
      const bool in_lung = in_body && d < 1 && !in_heart;

      if (in_lung) {
        lungs_mask[i] = 255;
        const double markings = 0.6 * value_noise(x * 9, y * 9, seed) + 0.4 * value_noise(x * 21, y * 21, seed + 1);
        val = 0.3 * soft + 0.08 + 0.1 * markings * (1.2 - 0.7 * d);
        if (ptx_mask && side == c.pneumothorax_side && ly < 0.15 && lx > -0.6) {
          const double inner = 1 - c.pneumothorax_rim;
          if (d > inner) {
            val = 0.3 * soft + 0.015;  // air without lung markings
            (*ptx_mask)[i] = 255;
          } else if (d > inner - 0.03) {
            val += 0.12;  // visceral pleural line
          }
        }
        if (consolidation_mask && side == c.consolidation_side) {
          const double r = c.consolidation_radius / c.lung_half_width;
          const double dist = std::hypot(lx - c.consolidation_lx, ly - c.consolidation_ly);
          if (dist < r) {
            const double fall = 1 - dist / r;
            const double s = std::min(1.0, 2 * fall) * (0.35 + 0.65 * value_noise(x * 14, y * 14, seed + 2));
            val += 0.3 * s;
            if (s > 0.2) (*consolidation_mask)[i] = 255;
          }
        }
        if (nodule_mask && side == c.nodule_side) {
          const double dist = std::hypot(x - nodule_x, y - nodule_y) / c.nodule_radius;
          if (dist < 1) {
            val += 0.32 * std::sqrt(1 - dist * dist);
            (*nodule_mask)[i] = 255;
          }
        }
        if (effusion_mask && side == c.effusion_side) {
          // Meniscus: the fluid climbs higher along the lateral chest wall.
          const double h = c.effusion_height;
          const double level = 1 - 2 * h - 0.6 * h * std::max(0.0, lx);
          if (ly > level) {
            val = std::max(val, soft + 0.1 + 0.03 * value_noise(x * 6, y * 6, seed + 3));
            (*effusion_mask)[i] = 255;
          }
        }
      }
      if (in_heart) {
        val = soft + 0.17;
        heart_mask[i] = 255;
      }
      if (in_body && ax < 0.085 && y > -0.95) {  // mediastinum and spine
        val = std::max(val, soft + 0.2) + bone * 0.25 * (std::sin(y * 38) > 0.55 ? 1 : 0);
      }
      if (in_body && ax > 0.07) {
        // Posterior ribs arch out and down from the spine; the nearest two are checked.
        const double t = (ax - 0.07) / 0.78;
        if (t < 1) {
          const double base = 0.2 * t - 0.13 * std::sin(kPi * 0.9 * t) - 0.78;
          const double k = std::floor((y - base) / 0.145);
          for (double kk = k; kk <= k + 1; ++kk) {
            if (kk < 0 || kk > 9) continue;
            const double dy = std::fabs(y - (base + kk * 0.145)) / 0.028;
            if (dy < 1) {
              val += bone * (0.55 + 0.45 * dy * dy);  // brighter cortex at the edges
              if (t < 0.25 && value_noise(x * 45, y * 45, seed + 4) > 0.6) val += 0.22 * calcification;
            }
          }
        }
        const double clavicle = std::fabs(y - (-0.74 + 0.12 * ax)) / 0.03;
        if (ax > 0.1 && ax < 0.62 && clavicle < 1) val += bone * 0.9;
      }
      if (tube_mask) {
        double dist = 1e9;
        for (int s = 0; s < 8; ++s) {
          dist = std::min(dist, segment_distance(x, y, tube[s][0], tube[s][1], tube[s + 1][0], tube[s + 1][1]));
        }
        if (dist < 0.011) {
          val += 0.3;  // radio-opaque, but a thin line: it must not move the histogram
          (*tube_mask)[i] = 255;
        }
      }
      double shown = c.offset + c.gain * std::pow(clamp01(val), c.gamma);
      shown += c.noise_sigma * rng.gaussian();
      out.pixels[i] = static_cast<float>(clamp01(shown));
    }
  }
  if (has[kCardiomegaly]) out.masks["cardiomegaly"] = heart_mask;
  return out;
}

}  // namespace radflow::synth
