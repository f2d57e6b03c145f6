//! The fake control plane's data: one environment's entities, revision counter and event log,
//! and the answers of control-plane.md computed from them.

use serde_json::{Value, json};

/// The snapshot arrays of model.md, in order.
pub const ARRAYS: [&str; 7] =
    ["apis", "applications", "keyMappings", "subscriptions", "policies", "keyManagers", "revokedTokens"];

/// The most events one page carries (the `revision` on top then says there are more).
pub const PAGE_SIZE: usize = 100;

/// One event of the log.
#[derive(Debug, Clone)]
pub(super) struct LoggedEvent {
    pub(super) revision: u64,
    pub(super) kind: String,
    pub(super) payload: Value,
}

/// Everything the fake control plane knows and what it was asked.
#[derive(Debug)]
pub(super) struct State {
    pub(super) environment: String,
    pub(super) token: Option<String>,
    pub(super) revision: u64,
    /// Per array of [`ARRAYS`]: (key, entity) in insertion order.
    pub(super) entities: Vec<Vec<(String, Value)>>,
    pub(super) log: Vec<LoggedEvent>,
    /// The log holds the events after this revision; `after` below it is answered 410.
    pub(super) log_start: u64,
    /// Answer every request with this status.
    pub(super) failing: Option<u16>,
    /// Drop this many of the next event polls mid-poll (no answer, connection closed).
    pub(super) drop_polls: usize,
    /// Answer `GET /snapshot` with a body that is not JSON.
    pub(super) corrupt_snapshot: bool,
    /// Leave `POST /status` requests unanswered.
    pub(super) stall_status: bool,
    /// `POST /status` bodies received.
    pub(super) statuses: Vec<Value>,
    pub(super) snapshot_requests: usize,
    pub(super) not_modified: usize,
    pub(super) polls: usize,
    pub(super) unauthorized: usize,
}

/// What a request gets.
#[derive(Debug)]
pub(super) enum Answer {
    Json {
        status: u16,
        body: Value,
        etag: Option<u64>,
    },
    Empty(u16),
    /// A body that is not JSON.
    Garbage {
        status: u16,
        etag: u64,
    },
    /// Events are not there yet: wait for more, up to the poll's wait.
    Wait,
    /// Close the connection without answering.
    Drop,
}

// === impl State ===

impl State {
    pub(super) fn new(environment: &str, token: Option<String>) -> Self {
        State {
            environment: environment.to_owned(),
            token,
            revision: 0,
            entities: vec![Vec::new(); ARRAYS.len()],
            log: Vec::new(),
            log_start: 0,
            failing: None,
            drop_polls: 0,
            corrupt_snapshot: false,
            stall_status: false,
            statuses: Vec::new(),
            snapshot_requests: 0,
            not_modified: 0,
            polls: 0,
            unauthorized: 0,
        }
    }

    /// Appends an event at the next revision and applies it to the entities.
    pub(super) fn publish(&mut self, kind: &str, payload: Value) -> u64 {
        self.revision += 1;
        self.apply(kind, &payload);
        self.log.push(LoggedEvent { revision: self.revision, kind: kind.to_owned(), payload });
        self.revision
    }

    /// Replaces every entity with those of `document` (snapshot arrays) at the next revision,
    /// without events: the log restarts there.
    pub(super) fn seed(&mut self, document: &Value) {
        for (i, array) in ARRAYS.iter().enumerate() {
            let values = document.get(*array).and_then(Value::as_array).cloned().unwrap_or_default();
            self.entities[i] = values.into_iter().map(|value| (key(array, &value), value)).collect();
        }
        self.revision += 1;
        self.compact();
    }

    /// Forgets the log: polls from before now are answered 410.
    pub(super) fn compact(&mut self) {
        self.log.clear();
        self.log_start = self.revision;
    }

    pub(super) fn snapshot(&self) -> Value {
        let mut document = json!({"revision": self.revision, "environment": self.environment});
        for (array, entities) in ARRAYS.iter().zip(&self.entities) {
            document[*array] = Value::Array(entities.iter().map(|(_, value)| value.clone()).collect());
        }
        document
    }

    /// `GET /snapshot`.
    pub(super) fn answer_snapshot(&mut self, environment: Option<&str>, if_none_match: Option<&str>) -> Answer {
        if environment != Some(self.environment.as_str()) {
            return Answer::Json { status: 404, body: json!({"error": "unknown environment"}), etag: None };
        }
        self.snapshot_requests += 1;
        if if_none_match == Some(format!("\"{}\"", self.revision).as_str()) {
            self.not_modified += 1;
            return Answer::Empty(304);
        }
        match self.corrupt_snapshot {
            true => Answer::Garbage { status: 200, etag: self.revision },
            false => Answer::Json { status: 200, body: self.snapshot(), etag: Some(self.revision) },
        }
    }

    /// `GET /events`: the events after `after`, [`Answer::Wait`] when there are none yet
    /// (`last_try`: the wait is over, answer the empty list).
    pub(super) fn answer_events(&mut self, environment: Option<&str>, after: Option<u64>, last_try: bool) -> Answer {
        let Some(after) = after.filter(|_| environment == Some(self.environment.as_str())) else {
            return Answer::Json { status: 400, body: json!({"error": "bad request"}), etag: None };
        };
        if after < self.log_start || after > self.revision {
            return Answer::Json { status: 410, body: json!({"error": "gone"}), etag: None };
        }
        let events: Vec<Value> = self
            .log
            .iter()
            .filter(|event| event.revision > after)
            .take(PAGE_SIZE)
            .map(|event| json!({"revision": event.revision, "type": event.kind, "payload": event.payload}))
            .collect();
        match (events.is_empty(), last_try) {
            (true, false) => Answer::Wait,
            (true, true) => Answer::Json { status: 200, body: json!({"revision": after, "events": []}), etag: None },
            (false, _) => {
                Answer::Json { status: 200, body: json!({"revision": self.revision, "events": events}), etag: None }
            }
        }
    }

    fn apply(&mut self, kind: &str, payload: &Value) {
        let (array, upsert) = match kind {
            "API_DEPLOYED" => ("apis", true),
            "API_UNDEPLOYED" => ("apis", false),
            "APPLICATION_UPSERTED" => ("applications", true),
            "APPLICATION_DELETED" => ("applications", false),
            "KEY_MAPPING_UPSERTED" => ("keyMappings", true),
            "KEY_MAPPING_DELETED" => ("keyMappings", false),
            "SUBSCRIPTION_UPSERTED" => ("subscriptions", true),
            "SUBSCRIPTION_DELETED" => ("subscriptions", false),
            "POLICY_UPSERTED" => ("policies", true),
            "POLICY_DELETED" => ("policies", false),
            "KEY_MANAGER_UPSERTED" => ("keyManagers", true),
            "KEY_MANAGER_DELETED" => ("keyManagers", false),
            "TOKEN_REVOKED" => ("revokedTokens", true),
            _ => return,
        };
        let i = ARRAYS.iter().position(|a| *a == array).unwrap();
        let key = key(array, payload);
        let entities = &mut self.entities[i];
        match (upsert, entities.iter().position(|(k, _)| *k == key)) {
            (true, Some(at)) => entities[at].1 = payload.clone(),
            (true, None) => entities.push((key, payload.clone())),
            (false, at) => {
                at.map(|at| entities.remove(at));
            }
        }
        if kind == "APPLICATION_DELETED" {
            let owned_by = |value: &Value| value.get("applicationId") == payload.get("id");
            for array in ["keyMappings", "subscriptions"] {
                let i = ARRAYS.iter().position(|a| *a == array).unwrap();
                self.entities[i].retain(|(_, value)| !owned_by(value));
            }
        }
    }
}

/// The identity of an entity within its array.
fn key(array: &str, value: &Value) -> String {
    let field = |name: &str| value.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    match array {
        "keyMappings" => format!("{}/{}", field("keyManager"), field("consumerKey")),
        "policies" => format!("{}/{}", field("kind"), field("name")),
        "keyManagers" => field("name"),
        "revokedTokens" if value.get("jti").is_some() => field("jti"),
        "revokedTokens" => field("signature"),
        _ => field("id"),
    }
}
