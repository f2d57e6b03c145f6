//! One API's operations, sorted once so that the first match is the most specific.

use std::cmp::Ordering;

use http::Method;

use super::{AllowedMethods, segments};
use crate::api::{Operation, Segment, Verb};

/// Indices into an API's operations, most specific first.
#[derive(Debug)]
pub(super) struct Operations {
    order: Box<[usize]>,
}

/// The outcome of matching the rest of a path and a method against one API.
#[derive(Debug)]
pub(super) enum OperationMatch<'a> {
    Found(&'a Operation),
    MethodNotAllowed(AllowedMethods),
    NotFound,
}

// === impl Operations ===

impl Operations {
    /// Sorts by template precedence, then a named verb before `*`, then document order.
    pub(super) fn new(operations: &[Operation]) -> Self {
        let mut order: Vec<usize> = (0..operations.len()).collect();
        // A stable sort keeps document order among equals.
        order.sort_by(|&a, &b| precedence(&operations[a], &operations[b]));
        Operations { order: order.into() }
    }

    /// `operations` must be the slice given to [`new`](Self::new); `rest` is the request path
    /// after the base path.
    pub(super) fn find<'a>(&self, operations: &'a [Operation], method: &Method, rest: &str) -> OperationMatch<'a> {
        let mut allow = AllowedMethods::default();
        let mut path_matched = false;
        for operation in self.order.iter().filter_map(|&i| operations.get(i)) {
            if !matches(operation.template.segments(), rest) {
                continue;
            }
            if operation.verb.accepts(method) {
                return OperationMatch::Found(operation);
            }
            path_matched = true;
            if let Verb::One(verb) = &operation.verb {
                allow.insert(verb);
            }
        }
        if path_matched { OperationMatch::MethodNotAllowed(allow) } else { OperationMatch::NotFound }
    }
}

/// `Less` when `a` is preferred to `b` should both match a path.
///
/// A template consumes one path segment per literal or param, so comparing the kinds of two
/// templates from the left (literal < param < rest) compares how each segment of a path they
/// both match was matched. When one is a prefix of the other, the longer one ends in a `*`
/// that matches nothing, and the shorter (exact) one is preferred, as lexicographic order has it.
fn precedence(a: &Operation, b: &Operation) -> Ordering {
    ranks(a).cmp(ranks(b)).then_with(|| verb_rank(&a.verb).cmp(&verb_rank(&b.verb)))
}

fn ranks(operation: &Operation) -> impl Iterator<Item = u8> + '_ {
    operation.template.segments().iter().map(Segment::rank)
}

fn verb_rank(verb: &Verb) -> u8 {
    match verb {
        Verb::One(_) => 0,
        Verb::Any => 1,
    }
}

/// Whether a template matches the rest of a path; a trailing `/` is optional.
fn matches(template: &[Segment], rest: &str) -> bool {
    let mut path = segments(rest);
    for segment in template {
        match segment {
            Segment::Rest => return true,
            Segment::Literal(literal) => {
                if path.next() != Some(&**literal) {
                    return false;
                }
            }
            Segment::Param(_) => {
                if path.next().is_none_or(str::is_empty) {
                    return false;
                }
            }
        }
    }
    path.next().is_none()
}
