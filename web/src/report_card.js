// The entry of the standalone report card (report_card.html, embedded into the CLI as
// radflow::web::kReportCardHtml): `radflow report --out FILE.html` puts the model in a
// <script type="application/json" id="report-model"> and this draws it with the
// dashboard's renderer; overlays come inlined as data: URIs.
import "./report.css";
import { renderReportCard } from "./report_render.js";

const model = JSON.parse(document.getElementById("report-model").textContent);
document.getElementById("report").innerHTML = renderReportCard(model, { overlaySrc: (o) => o.data_uri || null });
