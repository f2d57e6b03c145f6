//! Path normalisation and route matching on arbitrary input: normalisation either refuses
//! the path or yields a fixed point with the contract's invariants (no `.`/`..` segment, also
//! before `;` parameters; no double-encoded `.`, `/` or `\`; escapes that decode to UTF-8;
//! no unreserved, `/`, `\` or NUL escape left), and `find` on the result
//! never panics and only returns base paths that are segment-wise prefixes of the path.

#![no_main]

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use http::{HeaderName, Method};
use libfuzzer_sys::fuzz_target;
use tollgate_enforcer::{ApiGuard, OperationGuard};
use tollgate_router::api::{Api, Endpoints, Operation, PathTemplate, Verb};
use tollgate_router::path::normalise;
use tollgate_router::route::{RouteMatch, RouteTable};

static TABLE: LazyLock<RouteTable> = LazyLock::new(|| {
    let apis = [
        api(
            "pets",
            &["/petstore/1.0.0", "/petstore"],
            &[],
            &[("GET", "/pets/{id}"), ("POST", "/pets"), ("*", "/admin/*")],
        ),
        api("shop", &["/shop"], &["a.example"], &[("GET", "/*"), ("PUT", "/items/{id}/~x")]),
        api("root", &["/"], &[], &[("GET", "/"), ("DELETE", "/{a}/{b}"), ("GET", "/caf%C3%A9/*")]),
    ];
    let mut builder = RouteTable::builder();
    for api in apis {
        if let Err(conflict) = builder.insert(Arc::new(api)) {
            panic!("fixed table conflicts: {conflict}");
        }
    }
    builder.build()
});

const METHODS: [Method; 3] = [Method::GET, Method::POST, Method::DELETE];

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let Ok(path) = normalise(&input) else {
        return;
    };
    check_normal(&input, &path);
    for host in ["", "a.example"] {
        for method in &METHODS {
            check_route(TABLE.find(host, method, &path), method, &path);
        }
    }
});

fn check_normal(input: &str, path: &Cow<'_, str>) {
    assert!(path.starts_with('/'), "{path:?}");
    assert!(!path.contains("//"), "{path:?}");
    assert!(!path.contains('\\'), "{path:?}");
    for segment in path.split('/') {
        // What Tomcat and Spring resolve: the segment without its `;` parameters.
        let name = segment.split(';').next().unwrap_or(segment);
        let name = name.split("%3b").next().unwrap_or(name).split("%3B").next().unwrap_or(name);
        assert!(name != "." && name != "..", "{path:?}");
    }
    let mut decoded = Vec::with_capacity(path.len());
    let mut bytes = path.bytes().enumerate();
    while let Some((at, byte)) = bytes.next() {
        if byte != b'%' {
            decoded.push(byte);
            continue;
        }
        let escape = path.get(at + 1..at + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok());
        let Some(byte) = escape else { panic!("malformed escape in {path:?}") };
        let unreserved = byte.is_ascii_alphanumeric() || b"-._~".contains(&byte);
        assert!(!unreserved && !b"/\\\0".contains(&byte), "escape %{byte:02X} left in {path:?}");
        // No double encoding of `.`, `/` or `\`: `%25` then their hex.
        let next = path.get(at + 3..at + 5).map(str::to_ascii_lowercase);
        assert!(byte != b'%' || !matches!(next.as_deref(), Some("2e" | "2f" | "5c")), "{path:?}");
        decoded.push(byte);
        bytes.nth(1);
    }
    assert!(std::str::from_utf8(&decoded).is_ok(), "decodes to bytes that are not UTF-8: {path:?}");
    // Borrowed exactly when nothing changed; normalising again changes nothing.
    assert_eq!(matches!(path, Cow::Borrowed(_)), **path == *input, "{input:?} -> {path:?}");
    assert!(matches!(normalise(path), Ok(Cow::Borrowed(again)) if again == &**path), "{path:?}");
}

fn check_route(found: RouteMatch<'_>, method: &Method, path: &str) {
    match found {
        RouteMatch::Found(route) => {
            let rest = path.strip_prefix(route.base_path);
            assert!(rest.is_some_and(|rest| rest.is_empty() || rest.starts_with('/')), "{path:?} {route:?}");
            assert!(route.operation.verb.accepts(method), "{method} {path:?} {route:?}");
        }
        RouteMatch::MethodNotAllowed { allow, .. } => {
            assert!(!allow.is_empty() && !allow.contains(method), "{method} {path:?} {allow:?}");
        }
        RouteMatch::NotFound => {}
    }
}

fn api(id: &str, base_paths: &[&str], vhosts: &[&str], operations: &[(&str, &str)]) -> Api {
    Api {
        guard: ApiGuard {
            id: id.into(),
            name: id.into(),
            version: "1".into(),
            blocked: false,
            throttling_policy: None,
            schemes: Default::default(),
            base_paths: Box::new([]),
            client_certificates: Default::default(),
        },
        base_paths: base_paths.iter().map(|&p| p.into()).collect(),
        vhosts: vhosts.iter().map(|&h| h.into()).collect(),
        auth_header: HeaderName::from_static("authorization"),
        api_key: Default::default(),
        endpoints: Endpoints::default(),
        cors: None,
        backend_jwt: false,
        operations: operations.iter().map(|&(verb, target)| operation(verb, target)).collect(),
        metrics: Default::default(),
    }
}

fn operation(verb: &str, target: &str) -> Operation {
    let template = match PathTemplate::parse(target) {
        Ok(template) => template,
        Err(e) => panic!("{target}: {e}"),
    };
    let verb = match Method::from_bytes(verb.as_bytes()) {
        _ if verb == "*" => Verb::Any,
        Ok(method) => Verb::One(method),
        Err(e) => panic!("{verb}: {e}"),
    };
    let resource = format!("{verb:?} {template}").into();
    Operation {
        template,
        verb,
        guard: OperationGuard { secured: true, scopes: Box::new([]), throttling_policy: None, resource },
    }
}
