use http::{HeaderMap, HeaderName, HeaderValue};

/// The API's credential header (its `authorizationHeader`) as the request sent it.
///
/// Sent more than once, it is refused whatever the copies say (client.md, "Forwarding"): which
/// copy is the credential must not depend on which one a component happens to read (the first,
/// for `HeaderMap::get`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CredentialHeader<'a> {
    #[default]
    Absent,
    Once(&'a HeaderValue),
    Repeated,
}

// === impl CredentialHeader ===

impl<'a> CredentialHeader<'a> {
    /// The header `name` of `headers`: absent, sent once, or repeated. Looks no further than
    /// a second copy.
    pub fn of(headers: &'a HeaderMap, name: &HeaderName) -> Self {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (None, _) => CredentialHeader::Absent,
            (Some(value), None) => CredentialHeader::Once(value),
            (Some(_), Some(_)) => CredentialHeader::Repeated,
        }
    }
}

#[cfg(test)]
mod tests {
    use http::header::AUTHORIZATION;

    use super::*;

    #[test]
    fn a_second_copy_makes_it_repeated_whatever_the_values() {
        let mut headers = HeaderMap::new();
        assert_eq!(CredentialHeader::of(&headers, &AUTHORIZATION), CredentialHeader::Absent);
        let good = HeaderValue::from_static("Bearer good");
        headers.append(AUTHORIZATION, good.clone());
        assert_eq!(CredentialHeader::of(&headers, &AUTHORIZATION), CredentialHeader::Once(&good));
        headers.append(AUTHORIZATION, good);
        assert_eq!(CredentialHeader::of(&headers, &AUTHORIZATION), CredentialHeader::Repeated, "same value twice");
        headers.append(AUTHORIZATION, HeaderValue::from_static(""));
        assert_eq!(CredentialHeader::of(&headers, &AUTHORIZATION), CredentialHeader::Repeated);
        let other = HeaderName::from_static("x-token");
        assert_eq!(CredentialHeader::of(&headers, &other), CredentialHeader::Absent);
    }
}
