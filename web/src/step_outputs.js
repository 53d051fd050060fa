// What an evaluation step produced, the way a reader wants it on the step page:
// image outputs (segmentation overlays, a folder of PNGs) as thumbnails, and
// report-gen's predictions as a side-by-side table of reference and generated text
// with the findings each states.
import { get } from "./api.js";
import { el } from "./util.js";

const MAX_THUMBNAILS = 12;
const MAX_REPORT_ROWS = 50;
const isImage = (path) => /\.(png|jpe?g)$/i.test(path);
const contentUrl = (artifact, path) =>
  `/api/v1/artifacts/${artifact}/content${path ? "/" + path.split("/").map(encodeURIComponent).join("/") : ""}`;

function thumbnail(src, caption) {
  return el("a", { href: src, target: "_blank", class: "thumb" },
    el("img", { src, alt: caption, loading: "lazy" }), el("span", { class: "muted" }, caption));
}

async function imageThumbnails(outputs) {
  const thumbs = [];
  for (const a of outputs) {
    if (a.kind === "file" && isImage(a.name)) thumbs.push(thumbnail(contentUrl(a.artifact), a.name));
    if (a.kind !== "dir" || thumbs.length >= MAX_THUMBNAILS) continue;
    const listing = await get(contentUrl(a.artifact));
    for (const f of listing.files.filter((x) => isImage(x.path)).slice(0, MAX_THUMBNAILS - thumbs.length)) {
      thumbs.push(thumbnail(contentUrl(a.artifact, f.path), `${a.name}/${f.path}`));
    }
  }
  return thumbs.length ? el("div", { class: "thumbs", "data-testid": "thumbnails" }, thumbs) : null;
}

const positives = (labels) => Object.entries(labels || {}).filter(([, v]) => Number(v) === 1).map(([k]) => k).join(", ") || "none";

async function sideBySide(outputs) {
  const predictions = outputs.find((a) => a.name === "predictions" && a.kind === "file");
  if (!predictions) return null;
  const res = await fetch(contentUrl(predictions.artifact));
  if (!res.ok) return null;
  const rows = (await res.text()).split("\n").filter(Boolean).slice(0, MAX_REPORT_ROWS).map((line) => JSON.parse(line));
  return el("div", {},
    el("h4", {}, `Reference vs generated (first ${rows.length} test reports)`),
    el("table", { class: "side-by-side", "data-testid": "side-by-side" },
      el("thead", {}, el("tr", {}, ["image", "reference", "generated", "reference findings", "generated findings"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows.map((r) => {
        const ref = positives(r.reference_labels), gen = positives(r.generated_labels);
        return el("tr", { class: ref === gen ? "" : "labels-differ" },
          el("td", { class: "mono" }, r.path), el("td", {}, r.reference), el("td", {}, r.generated),
          el("td", {}, ref), el("td", {}, gen));
      }))));
}

// Fills `box` with the previews of `step`'s outputs (artifact list of the outputs route).
export async function showOutputPreviews(box, step, outputs) {
  const parts = [await imageThumbnails(outputs)];
  if (step && step.plugin === "report-gen") parts.push(await sideBySide(outputs));
  box.replaceChildren(...parts.filter(Boolean));
}
