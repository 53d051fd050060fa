// The dashboard's entry: a hash router over the views, the header's health line.
import "./style.css";
import { get, onEvent, reconnectEvents } from "./api.js";
import { signInView, showSession } from "./session_view.js";
import { parseHash } from "./util.js";
import { runsView } from "./runs_view.js";
import { runView } from "./run_view.js";
import { submitView } from "./submit_view.js";
import { pluginsView } from "./plugins_view.js";
import { compareView } from "./compare_view.js";
import { reportView } from "./report_view.js";

let dispose = () => {};
// The path on screen; null = nothing rendered yet, so the first route() always renders
// (the URL radflowd prints has no hash: its path is "", which must show the runs list).
let current = null;

function route() {
  const { parts, query } = parseHash();
  const view = document.getElementById("view");
  const key = parts.join("/");
  // Views rewrite their own query (replaceState), which fires no hashchange;
  // only a new path re-renders.
  if (key === current && parts[0] !== "compare" && parts[0] !== "report") return;
  current = key;
  dispose();
  const section = parts[0] || "runs";
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.nav === section);
  if (section === "runs" && parts[1]) dispose = runView(view, Number(parts[1]), query);
  else if (section === "submit") dispose = submitView(view, query);
  else if (section === "plugins") dispose = pluginsView(view, query);
  else if (section === "compare") dispose = compareView(view, query);
  else if (section === "report") dispose = reportView(view, query);
  else dispose = runsView(view, query);
  window.scrollTo(0, 0);
}

// Any 401 replaces the view with the sign-in form; signing in brings the view back.
window.addEventListener("radflow:signin", () => {
  if (current === "signin") return;
  current = "signin";
  dispose();
  dispose = signInView(document.getElementById("view"), () => {
    current = null;
    reconnectEvents();
    route();
    showSession();
  });
});

window.addEventListener("hashchange", route);
onEvent(() => {}); // connect the event stream at once (the header dot shows it)
route();
get("/healthz").then((h) => { document.getElementById("health").textContent = `radflowd ${h.version}`; }).catch(() => {});
showSession();
