//! `/openapi.json` (OpenAPI 3.1), generated from [`crate::api::routes`] — the same table the
//! router is built from — and `/docs`, a page that renders it.

use std::sync::OnceLock;

use axum::Json;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

pub fn document() -> Value {
    let mut paths = Map::new();
    for r in crate::api::routes() {
        let params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "summary": r.summary,
            "parameters": params,
            "responses": {
                r.ok.to_string(): {"description": "OK"},
                "default": {"description": "Problem details (RFC 9457)",
                            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            }
        });
        if r.auth {
            op["security"] = json!([{"bearer": []}]);
        }
        if let Some(example) = r
            .example
            .and_then(|e| serde_json::from_str::<Value>(e).ok())
        {
            op["requestBody"] = json!({"content": {"application/json": {"example": example}}});
        }
        let entry = paths
            .entry(r.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[r.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "After-sales gateway", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Problem": {"type": "object", "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "detail": {"type": "string"}, "trace_id": {"type": "string"},
                "violations": {"type": "array", "items": {"type": "object", "properties": {
                    "field": {"type": "string"}, "description": {"type": "string"}}}}}}}
        }
    })
}

pub async fn openapi() -> impl IntoResponse {
    static DOC: OnceLock<Value> = OnceLock::new();
    Json(DOC.get_or_init(document).clone())
}

const PAGE: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>After-sales gateway API</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}code{background:#eee;padding:0 .3em}
.m{display:inline-block;width:4em;font-weight:bold;text-transform:uppercase}</style></head>
<body><h1>After-sales gateway API</h1><p>The machine-readable document is <a href="/openapi.json">/openapi.json</a>.
Errors are <code>application/problem+json</code>. Send <code>Authorization: Bearer &lt;jwt&gt;</code>.</p>
<ul id="routes"></ul><script>
fetch('/openapi.json').then(r=>r.json()).then(d=>{const ul=document.getElementById('routes');
for(const [p,ops] of Object.entries(d.paths)){for(const [m,op] of Object.entries(ops)){
const li=document.createElement('li');li.innerHTML='<span class="m"></span> <code></code> — <span></span>';
li.children[0].textContent=m;li.children[1].textContent=p;li.children[2].textContent=op.summary;ul.appendChild(li);}}});
</script></body></html>"#;

pub async fn page() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE)
}
