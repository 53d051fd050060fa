// Plugins: the catalog from GET /api/v1/plugins, with ports and params schema.
import { get } from "./api.js";
import { el } from "./util.js";

export function pluginsView(root) {
  root.replaceChildren(el("h2", {}, "Plugins"), el("p", { class: "muted" }, "loading\u2026"));
  get("/api/v1/plugins").then((body) => {
    const ports = (list) => list.length
      ? el("ul", {}, list.map((p) => el("li", {}, el("code", {}, p.name), p.optional ? " (optional)" : "", " \u2014 ", p.description)))
      : el("span", { class: "muted" }, "none");
    const schema = (s) => {
      const props = Object.entries((s && s.properties) || {});
      if (!props.length) return el("span", { class: "muted" }, "no params");
      const required = new Set(s.required || []);
      return el("table", { class: "schema" },
        el("thead", {}, el("tr", {}, ["param", "type", "default", "constraints", "description"].map((h) => el("th", {}, h)))),
        el("tbody", {}, props.map(([name, p]) => el("tr", {},
          el("td", {}, el("code", {}, name), required.has(name) ? " *" : ""),
          el("td", {}, [].concat(p.type || "any").join(" | ") + (p.enum ? ` (${p.enum.join(", ")})` : "")),
          el("td", {}, p.default === undefined ? "" : JSON.stringify(p.default)),
          el("td", {}, ["minimum", "maximum", "minLength", "maxLength", "pattern"].filter((k) => p[k] !== undefined).map((k) => `${k} ${p[k]}`).join(", ")),
          el("td", {}, p.description || "")))));
    };
    root.replaceChildren(el("h2", {}, `Plugins (${body.plugins.length})`),
      ...body.plugins.map((p) => el("article", { class: "plugin", "data-plugin": p.name },
        el("h3", {}, p.name, " ", el("span", { class: "muted" }, p.version)),
        el("p", {}, p.description),
        el("div", { class: "ports" }, el("div", {}, el("h4", {}, "Inputs"), ports(p.inputs)), el("div", {}, el("h4", {}, "Outputs"), ports(p.outputs))),
        el("h4", {}, "Params"), schema(p.params_schema),
        el("details", {}, el("summary", {}, "schema JSON and library"), el("pre", {}, JSON.stringify(p.params_schema, null, 2)),
          el("p", { class: "mono muted" }, `${p.path} sha256 ${p.sha256}`)))),
      body.broken.length ? el("section", {}, el("h3", {}, "Broken libraries"),
        el("ul", {}, body.broken.map((b) => el("li", { class: "error" }, el("code", {}, b.path), ` ${b.code}: ${b.message}`)))) : "");
  }).catch((err) => root.replaceChildren(el("p", { class: "error" }, err.message)));
  return () => {};
}
