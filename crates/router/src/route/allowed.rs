use http::{HeaderValue, Method};

/// A set of methods, for the `Allow` header of a 405. Holds the eight methods of RFC 9110
/// and PATCH; an extension method cannot be held (operations never name one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AllowedMethods {
    bits: u16,
}

/// The methods a set can hold, in the order `Allow` lists them.
static METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
    Method::CONNECT,
    Method::TRACE,
];

// === impl AllowedMethods ===

impl AllowedMethods {
    /// Adds `method`; returns `false` for an extension method, which is not held.
    pub fn insert(&mut self, method: &Method) -> bool {
        let Some(bit) = bit(method) else {
            return false;
        };
        self.bits |= bit;
        true
    }

    pub fn contains(&self, method: &Method) -> bool {
        bit(method).is_some_and(|bit| self.bits & bit != 0)
    }

    pub fn is_empty(&self) -> bool {
        self.bits == 0
    }

    /// The methods in a fixed order: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS,
    /// CONNECT, TRACE.
    pub fn iter(&self) -> impl Iterator<Item = &'static Method> + use<> {
        let bits = self.bits;
        METHODS.iter().enumerate().filter(move |(i, _)| bits & (1 << i) != 0).map(|(_, method)| method)
    }

    /// The value of an `Allow` header, e.g. `GET, POST`; empty for the empty set.
    pub fn header_value(&self) -> HeaderValue {
        let names: Vec<&str> = self.iter().map(Method::as_str).collect();
        // Method names are tokens, which are always valid header values.
        HeaderValue::try_from(names.join(", ")).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

impl FromIterator<Method> for AllowedMethods {
    fn from_iter<I: IntoIterator<Item = Method>>(methods: I) -> Self {
        let mut allowed = AllowedMethods::default();
        for method in methods {
            allowed.insert(&method);
        }
        allowed
    }
}

fn bit(method: &Method) -> Option<u16> {
    METHODS.iter().position(|m| m == method).map(|i| 1 << i)
}
