//! client.md, "Combining schemes": which of the credentials a request presented decide it,
//! by the Api's schemes, and the one principal or rejection that comes out.

use std::sync::Arc;

use crate::enforcement::Enforcement;
use crate::enforcer::Access;
use crate::model::KeyType;
use crate::principal::Principal;
use crate::rejection::Rejection;
use crate::schemes::Requirement;
use crate::token::Authenticator;

/// Authenticates `access` by the row of the table its Api's schemes fall in. A mandatory
/// certificate is checked first; a presented application-level credential that fails is
/// refused with its own error, never passed over for the certificate.
pub(crate) async fn authenticate(
    authenticator: &Authenticator,
    data: &Enforcement,
    access: &Access<'_>,
    now: u64,
) -> Result<Principal, Rejection> {
    let schemes = access.api.schemes;
    match schemes.requirement() {
        Requirement::Application => authenticator.authenticate(data, access).await,
        Requirement::Certificate => certificate(access, now),
        Requirement::Either => match access.presented.application_credential(schemes) {
            Err(Rejection::MissingCredential) => certificate(access, now),
            Ok(_) | Err(_) => authenticator.authenticate(data, access).await,
        },
        Requirement::CertificateThenApplication => {
            let by_certificate = certificate(access, now)?;
            match authenticator.authenticate(data, access).await {
                Err(Rejection::MissingCredential) => Ok(by_certificate),
                decided => decided,
            }
        }
        Requirement::Both => {
            certificate(access, now)?;
            authenticator.authenticate(data, access).await
        }
    }
}

/// The client certificate's principal: absent is [`Rejection::MissingCredential`] (401
/// 900902), not accepted [`Rejection::CertificateNotAccepted`] (401 900901). The subject is the
/// accepting entry's alias; its subscription carries the entry's `policy`; the key type is
/// production (a certificate names none).
fn certificate(access: &Access<'_>, now: u64) -> Result<Principal, Rejection> {
    let chain = access.presented.client_certificate.ok_or(Rejection::MissingCredential)?;
    let entry = access.api.client_certificates.accept(chain, now).map_err(|refusal| {
        tracing::debug!(%refusal, "client certificate not accepted");
        Rejection::CertificateNotAccepted(refusal)
    })?;
    Ok(Principal {
        subject: entry.alias().clone(),
        key_type: KeyType::Production,
        application: None,
        subscription: Some(entry.subscription().clone()),
        key_manager: Arc::from(""),
        // A backend JWT for a certificate alone is minted per request, not cached (no
        // verified token or key to key the cache by).
        credential: None,
    })
}
