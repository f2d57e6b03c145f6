//! Operations of api.yaml (`operations`) → the model's operations, and the rules both forms
//! share: resource targets and `authType`.

use super::api_yaml::ApiOperation;
use super::refusal::Refusal;
use crate::dto::{OperationDto, Text};

/// api.yaml's operations. Refused: an operation policy on any flow, a target the model
/// cannot match as WSO2 does.
pub(crate) fn from_api_yaml(operations: &[ApiOperation]) -> Result<Vec<OperationDto<'static>>, Refusal> {
    operations.iter().map(operation).collect()
}

/// Refuses the first operation policy of any operation (they rewrite requests, validate
/// bodies, call out: nothing Tollgate does).
pub(crate) fn check_policies(operations: &[ApiOperation]) -> Result<(), Refusal> {
    for op in operations {
        if let Some(policy) = op.operation_policies.as_ref().and_then(|flows| flows.first_policy()) {
            let operation = format!("{} {}", op.verb.as_deref().unwrap_or("?"), op.target.as_deref().unwrap_or("?"));
            return Err(Refusal::OperationPolicy { operation, policy });
        }
    }
    Ok(())
}

fn operation(op: &ApiOperation) -> Result<OperationDto<'static>, Refusal> {
    let target = op.target.clone().ok_or(Refusal::Missing("operations[].target"))?;
    check_target(&target)?;
    let verb = op.verb.as_deref().ok_or(Refusal::Missing("operations[].verb"))?.to_ascii_uppercase();
    Ok(OperationDto {
        target: Some(Text::Owned(target)),
        verb: Some(Text::Owned(verb)),
        secured: Some(op.auth_type.as_deref().is_none_or(secured_by_auth_type)),
        scopes: Some(op.scopes.iter().flatten().map(|s| Text::Owned(s.clone())).collect()),
        throttling_policy: op.throttling_policy.clone().filter(|tier| !tier.is_empty()).map(Text::Owned),
    })
}

/// Whether an `authType` / `x-auth-type` asks for a credential: every value but `None`.
pub(crate) fn secured_by_auth_type(auth_type: &str) -> bool {
    !auth_type.eq_ignore_ascii_case("none")
}

/// A resource target WSO2 matches as the model does: `{param}` segments and a final `/*`.
/// A `*` elsewhere and a query template (`?…`) match differently, so they are refused.
pub(crate) fn check_target(target: &str) -> Result<(), Refusal> {
    let refuse = |reason| Err(Refusal::Target { target: target.to_owned(), reason });
    if target.contains('?') {
        return refuse("query templates are not supported");
    }
    let body = target.strip_suffix("/*").unwrap_or(target);
    match body.contains('*') {
        true => refuse("a wildcard is supported only as the final segment (/*)"),
        false => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_with_a_final_wildcard_or_parameters_are_kept_others_refused() {
        assert_eq!(check_target("/order/{orderId}"), Ok(()));
        assert_eq!(check_target("/*"), Ok(()));
        assert!(matches!(check_target("/a/*/b"), Err(Refusal::Target { .. })));
        assert!(matches!(check_target("/a?x={x}"), Err(Refusal::Target { .. })));
    }

    #[test]
    fn only_auth_type_none_turns_security_off() {
        assert!(!secured_by_auth_type("None"));
        assert!(secured_by_auth_type("Application & Application User"));
        assert!(secured_by_auth_type("Any"));
    }
}
