//! WSO2 API Manager as the control plane (contract/wso2.md).

mod hub;
