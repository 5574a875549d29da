//! The console's pages: the HTML, script and style files compiled into the binary (the
//! graph layout library included, so nothing is fetched at run time) and `POST /console/graph`,
//! which turns a definition and, optionally, an execution's history into the graph to draw
//! (`waymark-graph`). The pages read and drive everything else through the API at `POST /`.
//!
//! Every answer carries a content-security policy that allows scripts and styles from this
//! origin only (no inline script) and no framing.

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

const INDEX: &str = include_str!("../console/index.html");
const APP_JS: &str = include_str!("../console/app.js");
const GRAPH_JS: &str = include_str!("../console/graph.js");
const APP_CSS: &str = include_str!("../console/app.css");
const DAGRE_JS: &str = include_str!("../console/vendor/dagre.min.js");

/// The largest `POST /console/graph` body: a definition (1 MiB at most) and a history of
/// 25,000 events with their payloads fit.
const MAX_GRAPH_REQUEST: usize = 64 * 1024 * 1024;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The console's routes besides `GET /` (which [`crate::router::router_with_console`] puts
/// beside the API's `POST /`).
pub fn routes() -> Router {
    Router::new()
        .route("/console/app.js", get(|| asset(APP_JS, "text/javascript")))
        .route(
            "/console/graph.js",
            get(|| asset(GRAPH_JS, "text/javascript")),
        )
        .route(
            "/console/dagre.min.js",
            get(|| asset(DAGRE_JS, "text/javascript")),
        )
        .route("/console/app.css", get(|| asset(APP_CSS, "text/css")))
        .route(
            "/console/graph",
            post(graph).layer(DefaultBodyLimit::max(MAX_GRAPH_REQUEST)),
        )
}

/// `GET /`: the console's page.
pub async fn index() -> Response {
    asset(INDEX, "text/html; charset=utf-8").await
}

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    secure(r)
}

fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

#[derive(Deserialize)]
struct GraphRequest {
    definition: String,
    #[serde(default)]
    history: Option<Vec<Value>>,
}

/// The graph of a definition, with each state's run when a history comes with it.
pub fn view(definition: &str, history: Option<&[Value]>) -> Result<Value, String> {
    if let Err(diagnostics) = waymark_asl::parse::parse_text(definition, &Default::default()) {
        let first = diagnostics
            .first()
            .map(|d| format!("{} at {}: {}", d.code, d.path, d.message))
            .unwrap_or_default();
        return Err(format!("The definition is not valid: {first}"));
    }
    let value: Value = serde_json::from_str(definition).map_err(|e| e.to_string())?;
    let graph = waymark_graph::build(&value).map_err(|e| e.to_string())?;
    let runs = history.map(|h| waymark_graph::status(&value, h));
    Ok(json!({"graph": graph, "runs": runs}))
}

async fn graph(
    body: Result<Json<GraphRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = match body {
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": format!("The request is not a graph request: {e}")})),
        )
            .into_response(),
        Ok(Json(req)) => match view(&req.definition, req.history.as_deref()) {
            Ok(v) => Json(v).into_response(),
            Err(message) => {
                (StatusCode::BAD_REQUEST, Json(json!({ "message": message }))).into_response()
            }
        },
    };
    secure(r)
}

/// A page of its own that shows one graph (and its runs), for `waymark run --graph FILE.html`:
/// the styles, the layout library and the drawing script inline, the data as JSON that no
/// script text can end early.
pub fn standalone_page(title: &str, view: &Value) -> String {
    let data = view
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let title = title
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n<style>{APP_CSS}</style>\n</head><body>\n<header><span class=\"brand\">Waymark</span> <span class=\"sub\">{title}</span></header>\n<main><div class=\"split\"><div class=\"graph\" id=\"graph\"></div><div id=\"panel\" class=\"panel\"><p class=\"hint\">Click a state to see its input and output.</p></div></div></main>\n<script type=\"application/json\" id=\"data\">{data}</script>\n<script>{DAGRE_JS}</script>\n<script>{GRAPH_JS}</script>\n<script>{STANDALONE_JS}</script>\n</body></html>\n"
    )
}

/// Draws the page's data and fills the side panel with the clicked state's run.
const STANDALONE_JS: &str = r#""use strict";
(function () {
  const view = JSON.parse(document.getElementById("data").textContent);
  const panel = document.getElementById("panel");
  function line(tag, text) { const e = document.createElement(tag); e.textContent = text; panel.appendChild(e); }
  function pretty(s) { try { return JSON.stringify(JSON.parse(s), null, 2); } catch (_) { return s || ""; } }
  WaymarkGraph.render(document.getElementById("graph"), view.graph, view.runs, function (name) {
    panel.textContent = "";
    const run = view.runs ? view.runs[name] : null;
    line("h3", name + (run ? " — " + run.status : " — not run"));
    if (!run) return;
    if (run.error) { line("h4", "Error"); line("pre", run.error + (run.cause ? "\n" + run.cause : "")); }
    line("h4", "Input"); line("pre", pretty(run.input));
    line("h4", "Output"); line("pre", pretty(run.output));
  });
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_are_made_for_valid_definitions_only() {
        let def = r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}"#;
        let v = view(def, Some(&[])).unwrap();
        assert_eq!(v["graph"]["nodes"][1]["id"], "state:A");
        assert_eq!(v["runs"], json!({}));
        assert!(view(def, None).unwrap()["runs"].is_null());
        let e = view(r#"{"StartAt": "B", "States": {}}"#, None).unwrap_err();
        assert!(e.contains("not valid"), "{e}");
    }

    #[test]
    fn the_standalone_page_keeps_its_data_inside_its_script() {
        let v = json!({"graph": {"nodes": [], "edges": []}, "title": "</script><script>alert(1)</script>"});
        let page = standalone_page("a <b>", &v);
        assert!(!page.contains("</script><script>alert"));
        assert!(page.contains("a &lt;b&gt;"));
        assert!(page.contains("\\u003c/script\\u003e"));
    }
}
