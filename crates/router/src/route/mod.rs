//! PLACEHOLDER: the route table; completed by the routing work.

use std::sync::Arc;

use http::Method;

use crate::api::{Api, Operation};

#[derive(Debug, Default)]
pub struct RouteTable {
    apis: Vec<Arc<Api>>,
}

#[derive(Debug)]
pub enum RouteMatch<'a> {
    Found(Route<'a>),
    MethodNotAllowed { api: &'a Arc<Api>, allow: Vec<Method> },
    NotFound,
}

#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    pub api: &'a Arc<Api>,
    pub operation: &'a Operation,
    pub base_path: &'a str,
}

impl RouteTable {
    pub fn find(&self, _host: &str, _method: &Method, _path: &str) -> RouteMatch<'_> {
        RouteMatch::NotFound
    }

    pub fn apis(&self) -> impl Iterator<Item = &Arc<Api>> {
        self.apis.iter()
    }
}
