//! client.md, "Combining schemes": which of the credentials a request presented decide it,
//! by the Api's schemes, and the one principal or rejection that comes out.

use std::sync::Arc;

use crate::client_cert::AcceptedCertificate;
use crate::enforcement::Enforcement;
use crate::enforcer::Access;
use crate::model::KeyType;
use crate::principal::Principal;
use crate::rejection::Rejection;
use crate::schemes::Requirement;
use crate::token::Authenticator;

/// Authenticates `access` by the row of the table its Api's schemes fall in. A mandatory
/// certificate is checked first; a presented application-level credential that fails is
/// refused with its own error, never passed over for the certificate. A certificate the Api
/// accepted alongside a passing credential stays on the principal, so its `policy` limits the
/// request too (the certificate tier).
pub(crate) async fn authenticate(
    authenticator: &Authenticator,
    data: &Enforcement,
    access: &Access<'_>,
    now: u64,
) -> Result<Principal, Rejection> {
    let schemes = access.api.schemes;
    match schemes.requirement() {
        Requirement::Application => authenticator.authenticate(data, access).await,
        Requirement::Certificate => certificate(access, now).map(certificate_only),
        Requirement::Either => match access.presented.application_credential(schemes) {
            Err(Rejection::MissingCredential) => certificate(access, now).map(certificate_only),
            Ok(_) | Err(_) => {
                let principal = authenticator.authenticate(data, access).await?;
                // The credential decides; a certificate presented too counts only if accepted.
                Ok(match certificate(access, now) {
                    Ok(accepted) => principal.with_certificate(accepted),
                    Err(_) => principal,
                })
            }
        },
        Requirement::CertificateThenApplication => {
            let accepted = certificate(access, now)?;
            match authenticator.authenticate(data, access).await {
                Err(Rejection::MissingCredential) => Ok(certificate_only(accepted)),
                decided => decided.map(|principal| principal.with_certificate(accepted)),
            }
        }
        Requirement::Both => {
            let accepted = certificate(access, now)?;
            authenticator.authenticate(data, access).await.map(|principal| principal.with_certificate(accepted))
        }
    }
}

/// The client certificate as the Api accepts it: absent is [`Rejection::MissingCredential`]
/// (401 900902), not accepted [`Rejection::CertificateNotAccepted`] (401 900901).
fn certificate(access: &Access<'_>, now: u64) -> Result<AcceptedCertificate, Rejection> {
    let chain = access.presented.client_certificate.ok_or(Rejection::MissingCredential)?;
    access.api.client_certificates.accept(chain, now).map_err(|refusal| {
        tracing::debug!(%refusal, "client certificate not accepted");
        Rejection::CertificateNotAccepted(refusal)
    })
}

/// The principal of a request admitted by its certificate alone: the subject is the accepting
/// entry's alias, the key type production (a certificate names none); no application or
/// subscription, so the certificate tier is its only per-caller limit.
fn certificate_only(accepted: AcceptedCertificate) -> Principal {
    Principal {
        subject: accepted.alias.clone(),
        key_type: KeyType::Production,
        application: None,
        subscription: None,
        key_manager: Arc::from(""),
        credential: None,
        certificate: Some(accepted),
    }
}
