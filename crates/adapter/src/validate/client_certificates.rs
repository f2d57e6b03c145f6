//! `clientCertificates` (model.md, ClientCertificate) → the enforcer's [`ClientCertificates`],
//! parsed here once per document so that requests only compare and verify.

use std::collections::HashSet;
use std::sync::Arc;

use tollgate_enforcer::SecuritySchemes;
use tollgate_enforcer::client_cert::{ClientCertificate, ClientCertificates};
use tollgate_enforcer::model::PolicyKind;

use super::error::{FieldError, Problem};
use super::text::{optional_name, required};
use crate::dto::ClientCertificateDto;

/// The Api's certificates when it lists `mutualssl`: required and non-empty, each one PEM
/// certificate with a supported key (the enforcer's [`ClientCertificate::from_pem`] rules),
/// aliases unique. Without `mutualssl` no certificate is asked for, so the list is not read.
pub(super) fn client_certificates(
    api_id: &str,
    dtos: Option<Vec<ClientCertificateDto<'_>>>,
    schemes: SecuritySchemes,
) -> Result<Arc<ClientCertificates>, FieldError> {
    if !schemes.mutual_tls {
        return Ok(Arc::default());
    }
    let dtos = dtos.ok_or(FieldError::new("clientCertificates", Problem::Missing))?;
    if dtos.is_empty() {
        return Err(FieldError::new("clientCertificates", Problem::Empty));
    }
    let mut aliases = HashSet::with_capacity(dtos.len());
    let mut entries = Vec::with_capacity(dtos.len());
    for (i, dto) in dtos.into_iter().enumerate() {
        let entry = client_certificate(api_id, dto).map_err(|e| e.within(&format!("clientCertificates[{i}]")))?;
        if !aliases.insert(entry.alias().clone()) {
            let problem = Problem::DuplicateAlias(entry.alias().to_string());
            return Err(FieldError::new(format!("clientCertificates[{i}].alias"), problem));
        }
        entries.push(entry);
    }
    Ok(Arc::new(ClientCertificates::new(entries)))
}

/// Every entry's `policy` must name a `subscription` policy.
pub(super) fn check_policies(
    certificates: &ClientCertificates,
    known: &dyn Fn(PolicyKind, &str) -> bool,
) -> Result<(), FieldError> {
    for (i, entry) in certificates.iter().enumerate() {
        if !known(PolicyKind::Subscription, entry.policy()) {
            let problem =
                Problem::UnknownPolicy { kind: PolicyKind::Subscription.as_str(), name: entry.policy().to_string() };
            return Err(FieldError::new(format!("clientCertificates[{i}].policy"), problem));
        }
    }
    Ok(())
}

fn client_certificate(api_id: &str, dto: ClientCertificateDto<'_>) -> Result<ClientCertificate, FieldError> {
    let alias = required(dto.alias, "alias")?;
    let pem = dto.certificate.ok_or(FieldError::new("certificate", Problem::Missing))?;
    let policy = optional_name(dto.policy, "policy")?;
    ClientCertificate::from_pem(api_id, &alias, &pem, policy.as_deref())
        .map_err(|problem| FieldError::new("certificate", Problem::Certificate(problem)))
}
