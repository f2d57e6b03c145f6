//! What the fake API-M holds, and each resource's JSON in either version form.

use std::time::Duration;

use serde_json::{Value, json};

use super::Apim;

/// Which API-M answers: the shapes that changed after 4.2 (INTERFACE.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// API-M 4.0–4.2: `/keymanagers` settings in `configuration`, `/revokedjwt` a bare
    /// array, deployments without `deployedTimeStamp`/`type`.
    Legacy,
    /// API-M 4.3+: `additionalProperties`, `/revokedjwt` an object of three lists, the
    /// newer deployment and `/apis` fields.
    Current,
}

/// One deployed API revision: its api.json and definition (fixture files, as recorded) and
/// where it is deployed.
#[derive(Debug, Clone)]
pub struct FakeApi {
    pub uuid: String,
    pub revision_uuid: String,
    /// The folder inside its zip (`PizzaShackAPI-1.0.0`).
    pub folder: String,
    pub api_json: Vec<u8>,
    /// Other files of the project, by path under the folder.
    pub files: Vec<(String, Vec<u8>)>,
    /// (label, vhost) pairs.
    pub environments: Vec<(String, String)>,
    /// `/apis` metadata: name, version, context with version, status, isDefaultVersion.
    pub metadata: Value,
}

/// Everything the fake serves, and what it saw.
#[derive(Debug)]
pub struct State {
    pub form: Form,
    pub username: String,
    pub password: String,
    pub apis: Vec<FakeApi>,
    /// `env_properties.json`'s `apis`: uuid → label → configs.
    pub env_properties: Value,
    pub applications: Vec<Value>,
    pub key_mappings: Vec<Value>,
    pub subscriptions: Vec<Value>,
    pub subscription_policies: Vec<Value>,
    pub application_policies: Vec<Value>,
    pub api_policies: Vec<Value>,
    /// Key managers with their settings (served under the form's key).
    pub key_managers: Vec<(Value, Value)>,
    /// (jti, expiry ms).
    pub revoked: Vec<(String, u64)>,
    pub failing: Option<u16>,
    /// Resources (`subscriptions`, `runtime-artifacts`, ...) answered 200 with a body that
    /// is not what they hold: JSON cut short, or a zip that is not one.
    pub corrupt: Vec<String>,
    pub delay: Option<Duration>,
    pub patches: Vec<Value>,
    /// The resource of every request answered, in order.
    pub requests: Vec<String>,
}

// === impl FakeApi ===

impl FakeApi {
    /// The recorded TestAPI (4.3.0): `/test/1.0.0`, every verb on `/*`, OAuth2, served.
    pub fn test_api() -> FakeApi {
        FakeApi::from_fixture(
            "564d9716-cb27-4e8c-a756-db817f235065",
            "81d19423-83ec-4bf1-9db2-f2122958eff3",
            "TestAPI-1.0.0",
            Apim::fixture("runtime-artifacts/base-TestAPI-1.0.0-wildcard-api.json"),
            vec![(
                "Definitions/swagger.json".into(),
                Apim::fixture("runtime-artifacts/base-TestAPI-1.0.0-wildcard-swagger.json"),
            )],
        )
    }

    /// The recorded PizzaShackAPI (4.3.0) with its certificates and its `jsonValidator`
    /// operation policy: refused for that policy.
    pub fn pizza_shack() -> FakeApi {
        let member = |name: &str| Apim::fixture(&format!("runtime-artifacts/rec2-{name}"));
        FakeApi::from_fixture(
            "41013261-67ab-4311-96c8-42d41b6d2257",
            "c4c53097-e00b-4392-b3d7-60117c7cc06c",
            "PizzaShackAPI-1.0.0",
            member("PizzaShackAPI-1.0.0-api.json"),
            vec![
                ("Definitions/swagger.json".into(), member("PizzaShackAPI-1.0.0-swagger.json")),
                ("Endpoint-certificates/endpoint_certificates.json".into(), member("endpoint_certificates.json")),
                ("Client-certificates/client_certificates.json".into(), member("client_certificates.json")),
                ("Policies/jsonValidator_v1.json".into(), member("policy-jsonValidator_v1.json")),
            ],
        )
    }

    /// The TestAPI under another UUID and context (`/<context>/1.0.0`), revision `revision`.
    pub fn test_api_as(uuid: &str, context: &str, revision: u64) -> FakeApi {
        let mut api = FakeApi::test_api();
        let mut json: Value = serde_json::from_slice(&api.api_json).unwrap();
        json["data"]["id"] = json!(uuid);
        json["data"]["name"] = json!(context);
        json["data"]["context"] = json!(format!("/{context}"));
        json["data"]["revisionId"] = json!(revision);
        api.uuid = uuid.to_owned();
        api.revision_uuid = format!("{:0>36}", revision);
        api.folder = format!("{context}-1.0.0");
        api.api_json = serde_json::to_vec(&json).unwrap();
        api.metadata["uuid"] = json!(uuid);
        api.metadata["name"] = json!(context);
        api.metadata["context"] = json!(format!("/{context}/1.0.0"));
        api
    }

    fn from_fixture(
        uuid: &str,
        revision: &str,
        folder: &str,
        api_json: Vec<u8>,
        files: Vec<(String, Vec<u8>)>,
    ) -> FakeApi {
        let data = serde_json::from_slice::<Value>(&api_json).unwrap()["data"].clone();
        let metadata = json!({
            "uuid": uuid, "apiId": 1, "provider": "admin", "name": data["name"], "version": data["version"],
            "context": format!("{}/{}", data["context"].as_str().unwrap(), data["version"].as_str().unwrap()),
            "policy": "", "apiType": "HTTP", "status": "PUBLISHED", "isDefaultVersion": false, "urlMappings": [],
        });
        FakeApi {
            uuid: uuid.to_owned(),
            revision_uuid: revision.to_owned(),
            folder: folder.to_owned(),
            api_json,
            files,
            environments: vec![("Default".into(), "localhost".into())],
            metadata,
        }
    }

    /// `<apiUUID>-<revisionUUID>.zip`.
    pub fn api_file(&self) -> String {
        format!("{}-{}.zip", self.uuid, self.revision_uuid)
    }

    pub fn on_label(&self, labels: &[String]) -> bool {
        self.environments.iter().any(|(name, _)| labels.iter().any(|label| label == name))
    }
}

// === impl State ===

impl State {
    pub(super) fn new(form: Form) -> State {
        State {
            form,
            username: super::USERNAME.into(),
            password: super::PASSWORD.into(),
            apis: Vec::new(),
            env_properties: json!({}),
            applications: Vec::new(),
            key_mappings: Vec::new(),
            subscriptions: Vec::new(),
            subscription_policies: Vec::new(),
            application_policies: Vec::new(),
            api_policies: Vec::new(),
            key_managers: Vec::new(),
            revoked: Vec::new(),
            failing: None,
            corrupt: Vec::new(),
            delay: None,
            patches: Vec::new(),
            requests: Vec::new(),
        }
    }

    /// Deploys `api` (replacing one with its UUID).
    pub fn deploy(&mut self, api: FakeApi) {
        self.undeploy(&api.uuid);
        self.apis.push(api);
    }

    pub fn undeploy(&mut self, uuid: &str) {
        self.apis.retain(|api| api.uuid != uuid);
    }

    /// The API's production and sandbox endpoint on label `Default` (env_properties.json).
    pub fn set_endpoint(&mut self, uuid: &str, url: &str) {
        self.env_properties[uuid] = json!({"Default": {"envId": "1", "envName": "Default",
            "configs": {"productionEndpoint": url, "sandboxEndpoint": url}}});
    }

    /// Sets `/apis`' `status` of an API (its lifecycle state now).
    pub fn set_status(&mut self, uuid: &str, status: &str) {
        for api in self.apis.iter_mut().filter(|api| api.uuid == uuid) {
            api.metadata["status"] = json!(status);
        }
    }

    pub fn add_application(&mut self, uuid: &str, id: i64, policy: &str) {
        self.applications.retain(|app| app["uuid"] != uuid);
        self.applications.push(json!({"uuid": uuid, "id": id, "name": uuid, "subName": "admin", "policy": policy,
            "tokenType": "JWT", "groupIds": [], "attributes": {}, "organization": "carbon.super"}));
    }

    pub fn remove_application(&mut self, uuid: &str) {
        self.applications.retain(|app| app["uuid"] != uuid);
    }

    pub fn add_key_mapping(&mut self, application: &str, consumer_key: &str, key_manager: &str) {
        self.remove_key_mapping(consumer_key, key_manager);
        let id = self.applications.iter().find(|a| a["uuid"] == application).map_or(json!(0), |a| a["id"].clone());
        self.key_mappings
            .push(json!({"applicationId": id, "applicationUUID": application, "consumerKey": consumer_key,
            "keyType": "PRODUCTION", "keyManager": key_manager}));
    }

    pub fn remove_key_mapping(&mut self, consumer_key: &str, key_manager: &str) {
        self.key_mappings.retain(|m| !(m["consumerKey"] == consumer_key && m["keyManager"] == key_manager));
    }

    pub fn add_subscription(&mut self, uuid: &str, id: i64, api: &str, application: &str, policy: &str, state: &str) {
        self.remove_subscription(uuid);
        self.subscriptions.push(json!({"subscriptionUUID": uuid, "subscriptionId": id, "policyId": policy,
            "apiUUID": api, "apiId": 1, "applicationUUID": application, "appId": 1, "subscriptionState": state}));
    }

    pub fn remove_subscription(&mut self, uuid: &str) {
        self.subscriptions.retain(|s| s["subscriptionUUID"] != uuid);
    }

    /// A subscription policy of `count` requests per `unit` (`min`, `hour`, ...).
    pub fn add_subscription_policy(&mut self, name: &str, count: u64, unit: &str) {
        self.subscription_policies.retain(|p| p["name"] != name);
        self.subscription_policies.push(json!({"id": 1, "tenantId": -1234, "tenantDomain": "carbon.super",
            "name": name, "quotaType": "requestCount", "rateLimitCount": 0, "rateLimitTimeUnit": "",
            "stopOnQuotaReach": true, "defaultLimit": limit(count, unit)}));
    }

    pub fn add_application_policy(&mut self, name: &str, count: u64, unit: &str) {
        self.application_policies.retain(|p| p["name"] != name);
        let mut policy = json!({"id": 2, "tenantId": -1234, "tenantDomain": "carbon.super", "name": name,
            "quotaType": "requestCount", "defaultLimit": limit(count, unit)});
        if self.form == Form::Current {
            policy["burstLimit"] = json!({"rateLimitCount": 0, "rateLimitTimeUnit": ""});
        }
        self.application_policies.push(policy);
    }

    pub fn add_api_policy(&mut self, name: &str, count: u64, unit: &str) {
        self.api_policies.retain(|p| p["name"] != name);
        self.api_policies.push(json!({"tenantId": -1234, "tenantDomain": "carbon.super", "name": name,
            "quotaType": "requestCount", "applicableLevel": "apiLevel", "defaultLimit": limit(count, unit),
            "conditionGroups": []}));
    }

    pub fn remove_policy(&mut self, name: &str) {
        for list in [&mut self.subscription_policies, &mut self.application_policies, &mut self.api_policies] {
            list.retain(|p| p["name"] != name);
        }
    }

    /// A key manager that self-validates JWTs of `issuer` against `jwks_url`; the consumer
    /// key is in `azp`.
    pub fn add_key_manager(&mut self, name: &str, issuer: &str, jwks_url: &str) {
        self.remove_key_manager(name);
        let entry = json!({"name": name, "type": "default", "enabled": true, "tokenType": "DIRECT"});
        let settings = json!({"issuer": issuer, "self_validate_jwt": true, "certificate_type": "JWKS",
            "certificate_value": jwks_url, "consumer_key_claim": "azp", "scopes_claim": "scope"});
        self.key_managers.push((entry, settings));
    }

    pub fn remove_key_manager(&mut self, name: &str) {
        self.key_managers.retain(|(entry, _)| entry["name"] != name);
    }

    pub fn revoke(&mut self, jti: &str, expiry_ms: u64) {
        self.revoked.push((jti.to_owned(), expiry_ms));
    }

    // --- resources, in the form served ---

    /// `/apis?gatewayLabel=&apiId=`.
    pub(super) fn apis_json(&self, label: Option<&str>, api_id: Option<&str>) -> Value {
        let list: Vec<Value> = self
            .apis
            .iter()
            .filter(|api| label.is_none_or(|label| api.on_label(&[label.to_owned()])))
            .filter(|api| api_id.is_none_or(|id| api.uuid == id))
            .map(|api| {
                let mut metadata = api.metadata.clone();
                if self.form == Form::Current {
                    metadata["organization"] = json!("carbon.super");
                    metadata["contextTemplate"] = metadata["context"].clone();
                }
                metadata
            })
            .collect();
        listed(list)
    }

    pub(super) fn key_managers_json(&self) -> Value {
        let key = match self.form {
            Form::Legacy => "configuration",
            Form::Current => "additionalProperties",
        };
        let entries = self.key_managers.iter().map(|(entry, settings)| {
            let mut entry = entry.clone();
            entry[key] = settings.clone();
            match self.form {
                Form::Legacy => entry["tenantDomain"] = json!("carbon.super"),
                Form::Current => entry["organization"] = json!("carbon.super"),
            }
            entry
        });
        Value::Array(entries.collect())
    }

    pub(super) fn revoked_json(&self) -> Value {
        let tokens: Vec<Value> =
            self.revoked.iter().map(|(jti, expiry)| json!({"jwt_signature": jti, "expiry_time": expiry})).collect();
        match self.form {
            Form::Legacy => Value::Array(tokens),
            Form::Current => json!({"revokedJWTList": tokens, "revokedJWTConsumerKeyList": [],
                "revokedJWTSubjectEntityList": []}),
        }
    }
}

/// `{"count", "list"}`.
pub(super) fn listed(list: Vec<Value>) -> Value {
    json!({"count": list.len(), "list": Value::Array(list)})
}

fn limit(count: u64, unit: &str) -> Value {
    json!({"quotaType": "requestCount", "requestCount": {"timeUnit": unit, "unitTime": 1, "requestCount": count}})
}
