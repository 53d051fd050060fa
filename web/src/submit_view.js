// Submit: paste or upload a workflow JSON; POST /api/v1/validate first, and
// show each error at its JSON path (the line, highlighted) before anything is
// submitted. Submitting opens the new run's page.
import { post, ApiError } from "./api.js";
import { el } from "./util.js";
import { locate, lineOf } from "./json_locate.js";

const EXAMPLE = `{
  "name": "example",
  "steps": {
    "a": {"plugin": "test-ok", "params": {"value": 1}},
    "b": {"plugin": "test-ok", "inputs": {"in": "a.out"}}
  }
}`;

export function submitView(root) {
  const text = el("textarea", { spellcheck: "false", rows: 24, "data-testid": "workflow-text" });
  text.value = sessionStorage.getItem("radflow.workflow") || EXAMPLE;
  const file = el("input", { type: "file", accept: ".json,application/json", "data-testid": "workflow-file" });
  const result = el("div", { class: "result", "data-testid": "validation" });
  const annotated = el("div", { class: "annotated", "data-testid": "annotated" });
  const validateBtn = el("button", { "data-testid": "validate" }, "Validate");
  const submitBtn = el("button", { class: "primary", "data-testid": "submit" }, "Submit run");
  root.replaceChildren(el("h2", {}, "Submit a workflow"),
    el("p", { class: "muted" }, "Paste a workflow (docs/workflows.md) or load a file. It is validated against the daemon's plugins before it is submitted."),
    el("div", { class: "toolbar" }, file, validateBtn, submitBtn),
    el("div", { class: "submit-grid" }, text, el("div", {}, result, annotated)));

  file.addEventListener("change", async () => {
    if (file.files[0]) { text.value = await file.files[0].text(); validate(); }
  });
  text.addEventListener("input", () => sessionStorage.setItem("radflow.workflow", text.value));

  function showErrors(errors) {
    const src = text.value;
    const spots = locate(src);
    const byLine = new Map();
    const items = errors.map((e) => {
      const at = lineOf(src, spots, e.path || "");
      (byLine.get(at.line) || byLine.set(at.line, []).get(at.line)).push(e);
      return el("li", { class: "error", "data-code": e.code, "data-path": e.path },
        el("code", {}, e.path || "(document)"), ` line ${at.line}${at.exact ? "" : " (nearest)"}: `,
        el("b", {}, e.code), " ", e.message);
    });
    result.replaceChildren(el("p", { class: "error" }, `${errors.length} problem(s); nothing was submitted.`), el("ul", {}, items));
    annotated.replaceChildren(...src.split("\n").map((line, n) => {
      const errs = byLine.get(n + 1);
      return el("div", { class: errs ? "src-line bad" : "src-line", "data-line": n + 1 },
        el("span", { class: "ln" }, n + 1), el("span", { class: "code" }, line || " "),
        errs ? errs.map((e) => el("div", { class: "inline-error", "data-path": e.path }, `\u21b3 ${e.path}: ${e.message}`)) : null);
    }));
  }

  async function validate() {
    annotated.replaceChildren();
    try {
      const ok = await post("/api/v1/validate", text.value);
      result.replaceChildren(el("p", { class: "ok", "data-testid": "valid" }, `Valid: workflow "${ok.name}", steps in order: ${ok.steps.join(", ")}`));
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.errors.length) showErrors(err.errors);
      else result.replaceChildren(el("p", { class: "error" }, err.message));
      return false;
    }
  }
  validateBtn.addEventListener("click", validate);
  submitBtn.addEventListener("click", async () => {
    if (!(await validate())) return;
    try {
      const created = await post("/api/v1/runs", text.value);
      location.hash = `#/runs/${created.id}`;
    } catch (err) {
      if (err instanceof ApiError && err.errors.length) showErrors(err.errors);
      else result.replaceChildren(el("p", { class: "error" }, err.message));
    }
  });
  return () => {};
}
