use std::sync::Arc;

use http::{HeaderName, Method};
use tollgate_enforcer::{ApiGuard, OperationGuard};

use super::{AllowedMethods, RouteConflict, RouteMatch, RouteTable};
use crate::api::{Api, Endpoints, Operation, PathTemplate, Verb};

/// An API `id` at `base_paths` on `vhosts`, with operations `(verb, target)`; verb `*` is any.
fn api(id: &str, base_paths: &[&str], vhosts: &[&str], operations: &[(&str, &str)]) -> Arc<Api> {
    let guard = ApiGuard {
        id: id.into(),
        name: id.into(),
        version: "1".into(),
        blocked: false,
        throttling_policy: None,
        schemes: Default::default(),
        base_paths: Box::new([]),
        client_certificates: Default::default(),
    };
    Arc::new(Api {
        guard,
        base_paths: base_paths.iter().map(|&p| p.into()).collect(),
        vhosts: vhosts.iter().map(|&h| h.into()).collect(),
        auth_header: HeaderName::from_static("authorization"),
        api_key: Default::default(),
        endpoints: Endpoints::default(),
        cors: None,
        backend_jwt: false,
        operations: operations.iter().map(|&(verb, target)| operation(verb, target)).collect(),
        metrics: Default::default(),
    })
}

fn operation(verb: &str, target: &str) -> Operation {
    let template = PathTemplate::parse(target).unwrap_or_else(|e| panic!("{target}: {e}"));
    let verb = match verb {
        "*" => Verb::Any,
        verb => Verb::One(Method::from_bytes(verb.as_bytes()).unwrap_or_else(|e| panic!("{verb}: {e}"))),
    };
    let resource = format!("{verb:?} {template}").into();
    Operation {
        template,
        verb,
        guard: OperationGuard { secured: true, scopes: [].into(), throttling_policy: None, resource },
    }
}

fn table(apis: impl IntoIterator<Item = Arc<Api>>) -> RouteTable {
    let mut builder = RouteTable::builder();
    for api in apis {
        builder.insert(api).unwrap_or_else(|e| panic!("{e}"));
    }
    builder.build()
}

/// `"<api id> <verb> <template> @<base path>"` for a match, `"404"`, or `"405 <api id> <allow>"`.
fn route(table: &RouteTable, host: &str, method: &Method, path: &str) -> String {
    match table.find(host, method, path) {
        RouteMatch::Found(r) => {
            format!("{} {:?} {} @{}", r.api.id(), r.operation.verb, r.operation.template, r.base_path)
        }
        RouteMatch::MethodNotAllowed { api, allow } => format!("405 {} {:?}", api.id(), allow.header_value()),
        RouteMatch::NotFound => "404".to_owned(),
    }
}

fn get(table: &RouteTable, path: &str) -> String {
    route(table, "any.example", &Method::GET, path)
}

#[test]
fn empty_table_finds_nothing() {
    let table = RouteTable::default();
    assert!(table.is_empty());
    assert_eq!(table.len(), 0);
    assert_eq!(get(&table, "/"), "404");
}

#[test]
fn host_selects_its_apis_and_the_any_host_ones() {
    let table = table([
        api("a", &["/a"], &["a.example", "alias.example"], &[("GET", "/*")]),
        api("b", &["/b"], &["b.example"], &[("GET", "/*")]),
        api("any", &["/any"], &[], &[("GET", "/*")]),
    ]);
    assert_eq!(route(&table, "a.example", &Method::GET, "/a/x"), "a One(GET) /* @/a");
    assert_eq!(route(&table, "alias.example", &Method::GET, "/a"), "a One(GET) /* @/a");
    assert_eq!(route(&table, "b.example", &Method::GET, "/a/x"), "404");
    assert_eq!(route(&table, "other.example", &Method::GET, "/a/x"), "404");
    assert_eq!(route(&table, "b.example", &Method::GET, "/any/x"), "any One(GET) /* @/any");
    assert_eq!(route(&table, "", &Method::GET, "/any"), "any One(GET) /* @/any");
}

#[test]
fn host_specific_api_wins_over_any_host_on_the_same_base_path() {
    let table = table([
        api("shared", &["/shop"], &[], &[("GET", "/*")]),
        api("tenant", &["/shop"], &["t.example"], &[("GET", "/*")]),
    ]);
    assert_eq!(route(&table, "t.example", &Method::GET, "/shop/x"), "tenant One(GET) /* @/shop");
    assert_eq!(route(&table, "u.example", &Method::GET, "/shop/x"), "shared One(GET) /* @/shop");
}

#[test]
fn longest_base_path_wins_segment_wise() {
    let table = table([
        api("shop", &["/shop"], &[], &[("GET", "/*")]),
        api("shop-v2", &["/shop/v2"], &[], &[("GET", "/*")]),
        api("root", &["/"], &[], &[("GET", "/*")]),
    ]);
    assert_eq!(get(&table, "/shop/v2/items"), "shop-v2 One(GET) /* @/shop/v2");
    assert_eq!(get(&table, "/shop/v2"), "shop-v2 One(GET) /* @/shop/v2");
    assert_eq!(get(&table, "/shop/v3"), "shop One(GET) /* @/shop");
    assert_eq!(get(&table, "/shop/"), "shop One(GET) /* @/shop");
    assert_eq!(get(&table, "/shop"), "shop One(GET) /* @/shop");
    assert_eq!(get(&table, "/shopping"), "root One(GET) /* @");
    assert_eq!(get(&table, "/"), "root One(GET) /* @");
}

#[test]
fn the_selected_api_is_final_even_without_an_operation() {
    let table = table([
        api("outer", &["/shop"], &[], &[("GET", "/*")]),
        api("inner", &["/shop/v2"], &[], &[("GET", "/items")]),
    ]);
    assert_eq!(get(&table, "/shop/v2/items"), "inner One(GET) /items @/shop/v2");
    assert_eq!(get(&table, "/shop/v2/other"), "404");
}

#[test]
fn default_version_is_served_at_both_base_paths() {
    let table = table([
        api("pets-1", &["/petstore/1.0.0", "/petstore"], &[], &[("GET", "/pets/{id}")]),
        api("pets-2", &["/petstore/2.0.0"], &[], &[("GET", "/pets/{id}")]),
    ]);
    assert_eq!(get(&table, "/petstore/1.0.0/pets/7"), "pets-1 One(GET) /pets/{id} @/petstore/1.0.0");
    assert_eq!(get(&table, "/petstore/pets/7"), "pets-1 One(GET) /pets/{id} @/petstore");
    assert_eq!(get(&table, "/petstore/2.0.0/pets/7"), "pets-2 One(GET) /pets/{id} @/petstore/2.0.0");
    assert_eq!(table.apis().map(|a| a.id().to_string()).collect::<Vec<_>>(), ["pets-1", "pets-2"]);
}

#[test]
fn base_path_is_the_prefix_to_strip() {
    let table = table([api("p", &["/petstore/1.0.0"], &[], &[("GET", "/pets/{id}")])]);
    let path = "/petstore/1.0.0/pets/7";
    let RouteMatch::Found(route) = table.find("h", &Method::GET, path) else { panic!("no route for {path}") };
    assert_eq!(&path[route.base_path.len()..], "/pets/7");
}

#[test]
fn literal_beats_param_beats_rest_from_the_left() {
    let table = table([api(
        "p",
        &["/p"],
        &[],
        &[("GET", "/*"), ("GET", "/pets/*"), ("GET", "/pets/{id}"), ("GET", "/pets/mine"), ("GET", "/{kind}/mine")],
    )]);
    assert_eq!(get(&table, "/p/pets/mine"), "p One(GET) /pets/mine @/p");
    assert_eq!(get(&table, "/p/pets/7"), "p One(GET) /pets/{id} @/p");
    assert_eq!(get(&table, "/p/pets/7/toys"), "p One(GET) /pets/* @/p");
    assert_eq!(get(&table, "/p/pets"), "p One(GET) /pets/* @/p");
    assert_eq!(get(&table, "/p/dogs/mine"), "p One(GET) /{kind}/mine @/p");
    assert_eq!(get(&table, "/p/dogs/7"), "p One(GET) /* @/p");
}

#[test]
fn exact_template_beats_a_rest_matching_nothing_and_named_verb_beats_any() {
    let table = table([api("p", &["/p"], &[], &[("*", "/pets/*"), ("*", "/pets"), ("GET", "/pets")])]);
    assert_eq!(get(&table, "/p/pets"), "p One(GET) /pets @/p");
    assert_eq!(route(&table, "h", &Method::POST, "/p/pets"), "p Any /pets @/p");
    assert_eq!(route(&table, "h", &Method::POST, "/p/pets/1"), "p Any /pets/* @/p");
}

#[test]
fn trailing_slash_is_optional() {
    let table = table([api("p", &["/p"], &[], &[("GET", "/pets/"), ("GET", "/"), ("GET", "/pets/{id}")])]);
    assert_eq!(get(&table, "/p/pets"), "p One(GET) /pets @/p");
    assert_eq!(get(&table, "/p/pets/"), "p One(GET) /pets @/p");
    assert_eq!(get(&table, "/p/pets/7/"), "p One(GET) /pets/{id} @/p");
    assert_eq!(get(&table, "/p"), "p One(GET) / @/p");
    assert_eq!(get(&table, "/p/"), "p One(GET) / @/p");
    assert_eq!(get(&table, "/p/pets/7/x"), "404");
}

#[test]
fn rest_matches_the_bare_base_path_and_any_depth() {
    let table =
        table([api("all", &["/all"], &[], &[("GET", "/*")]), api("pets", &["/pets-api"], &[], &[("GET", "/pets/*")])]);
    for path in ["/all", "/all/", "/all/a", "/all/a/b/c/"] {
        assert_eq!(get(&table, path), "all One(GET) /* @/all", "{path}");
    }
    for path in ["/pets-api/pets", "/pets-api/pets/", "/pets-api/pets/a/b"] {
        assert_eq!(get(&table, path), "pets One(GET) /pets/* @/pets-api", "{path}");
    }
    assert_eq!(get(&table, "/pets-api"), "404");
    assert_eq!(get(&table, "/pets-api/petsx"), "404");
}

#[test]
fn param_matches_exactly_one_segment() {
    let table = table([api("p", &["/p"], &[], &[("GET", "/pets/{id}")])]);
    assert_eq!(get(&table, "/p/pets/7"), "p One(GET) /pets/{id} @/p");
    assert_eq!(get(&table, "/p/pets"), "404");
    assert_eq!(get(&table, "/p/pets/"), "404");
    assert_eq!(get(&table, "/p/pets/7/8"), "404");
}

#[test]
fn method_not_allowed_lists_the_methods_of_matching_templates() {
    let table = table([api(
        "p",
        &["/p"],
        &[],
        &[("GET", "/pets/{id}"), ("DELETE", "/pets/{id}"), ("PUT", "/pets/7"), ("POST", "/pets"), ("PATCH", "/toys/*")],
    )]);
    assert_eq!(route(&table, "h", &Method::POST, "/p/pets/7"), "405 p \"GET, PUT, DELETE\"");
    assert_eq!(route(&table, "h", &Method::GET, "/p/pets"), "405 p \"POST\"");
    assert_eq!(route(&table, "h", &Method::GET, "/p/toys"), "405 p \"PATCH\"");
    assert_eq!(route(&table, "h", &Method::GET, "/p/cats"), "404");
}

#[test]
fn any_verb_never_yields_405() {
    let table = table([api("p", &["/p"], &[], &[("GET", "/pets"), ("*", "/{x}")])]);
    assert_eq!(route(&table, "h", &Method::DELETE, "/p/pets"), "p Any /{x} @/p");
}

#[test]
fn matching_is_case_sensitive() {
    let table = table([api("p", &["/Shop"], &[], &[("GET", "/Pets")])]);
    assert_eq!(get(&table, "/Shop/Pets"), "p One(GET) /Pets @/Shop");
    assert_eq!(get(&table, "/shop/Pets"), "404");
    assert_eq!(get(&table, "/Shop/pets"), "404");
}

#[test]
fn root_base_path_given_as_slash_strips_nothing() {
    let table = table([api("root", &["/"], &[], &[("GET", "/pets")])]);
    assert_eq!(get(&table, "/pets/"), "root One(GET) /pets @");
}

#[test]
fn conflicts_name_the_base_path_and_the_api_that_has_it() {
    let mut builder = RouteTable::builder();
    let inserted = [
        builder.insert(api("a", &["/x/1", "/x"], &[], &[("GET", "/*")])),
        builder.insert(api("h", &["/x"], &["h.example"], &[("GET", "/")])),
        builder.insert(api("b", &["/x/2", "/x"], &[], &[("GET", "/")])),
        builder.insert(api("c", &["/x"], &["g.example", "h.example"], &[("GET", "/")])),
        builder.insert(api("d", &["/x"], &["g.example"], &[("GET", "/")])),
        builder.insert(api("e", &["/"], &[], &[("GET", "/")])),
        builder.insert(api("f", &["/"], &[], &[("GET", "/")])),
    ];
    let conflict = |base_path: &str, existing: &str, vhost: Option<&str>| {
        Err(RouteConflict { base_path: base_path.into(), existing: existing.into(), vhost: vhost.map(Into::into) })
    };
    assert_eq!(
        inserted,
        [
            Ok(()),
            Ok(()),
            conflict("/x", "a", None),
            conflict("/x", "h", Some("h.example")),
            Ok(()),
            Ok(()),
            conflict("/", "e", None)
        ]
    );
    let message = conflict("/x", "h", Some("h.example")).err().map(|e| e.to_string());
    assert_eq!(message.as_deref(), Some("base path /x is already served by API h on host h.example"));
    // A refused API leaves nothing behind: /x/2 is still free.
    let table = builder.build();
    assert_eq!(table.len(), 4);
    assert_eq!(get(&table, "/x/2"), "a One(GET) /* @/x");
}

#[test]
fn allowed_methods_is_a_small_ordered_set() {
    let allow: AllowedMethods = [Method::POST, Method::GET, Method::GET].into_iter().collect();
    assert!(allow.contains(&Method::GET) && !allow.contains(&Method::PUT));
    assert_eq!(allow.header_value(), "GET, POST");
    let mut empty = AllowedMethods::default();
    assert!(!empty.insert(&Method::from_bytes(b"PURGE").unwrap_or_default()));
    assert!(empty.is_empty());
}
