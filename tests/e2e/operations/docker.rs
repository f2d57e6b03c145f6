//! docker/: no image registry is reachable here, so the image is never built in CI. What can
//! be checked is: the Dockerfile is a conventional multi-stage, non-root build whose
//! entrypoint, config path, ports and volumes agree with the configuration it bakes in; and
//! the binary runs exactly as the image and the compose file run it — same arguments, same
//! environment, same file layout (recreated under a temporary root), same API files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tollgate_gateway::config::{self, Config};
use tollgate_tests::redis::RedisServer;
use tollgate_tests::{Client, Upstream, eventually, fetch_server_certificate_pem};

use super::tools::{read, repo, yaml_documents};
use crate::support::binary;

/// The Dockerfile's instructions that matter here.
#[derive(Debug, Default)]
struct Image {
    stages: Vec<String>,
    user: String,
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    expose: Vec<u16>,
    volumes: Vec<String>,
    /// `(from stage or None for the build context, source, destination)` of the last stage.
    copies: Vec<(Option<String>, String, String)>,
    workdir: String,
}

#[test]
fn the_dockerfile_builds_in_stages_and_runs_tollgate_unprivileged() {
    let image = Image::parse(&read("docker/Dockerfile"));
    assert!(
        image.stages.len() >= 2 && image.stages[0].starts_with("rust:"),
        "build with the Rust image: {:?}",
        image.stages
    );
    assert!(image.stages.last().unwrap().starts_with("gcr.io/distroless/"), "minimal runtime base: {:?}", image.stages);
    let uid: u32 = image.user.split(':').next().unwrap().parse().expect("a numeric USER (runAsNonRoot can check it)");
    assert_ne!(uid, 0, "non-root");
    let binary =
        image.copies.iter().find(|(_, _, dest)| *dest == image.entrypoint[0]).expect("the entrypoint is copied in");
    assert!(binary.0.is_some() && binary.1.ends_with("/tollgate"), "the entrypoint is the built tollgate: {binary:?}");
    let config_path = config_argument(&image.cmd);
    assert!(
        image
            .copies
            .iter()
            .any(|(from, src, dest)| from.is_none() && src == "docker/gateway.toml" && *dest == config_path)
    );
    let config = load(&read("docker/gateway.toml"), Vec::new());
    for port in [config.listener.https.port(), config.admin.address.port()] {
        assert!(image.expose.contains(&port), "EXPOSE {port}: {:?}", image.expose);
    }
    let state = config.source.state_dir.clone().expect("state_dir").to_string_lossy().into_owned();
    for path in [config_path.as_str(), &config.source.path.to_string_lossy(), &state] {
        assert!(
            image.volumes.iter().any(|v| Path::new(path).starts_with(v)),
            "{path} is on no VOLUME: {:?}",
            image.volumes
        );
    }
}

#[tokio::test]
async fn the_binary_runs_with_the_arguments_and_paths_of_the_image_and_the_compose_file() {
    let image = Image::parse(&read("docker/Dockerfile"));
    let compose = yaml_documents(&read("docker/compose.yaml")).remove(0);
    let service = &compose["services"]["gateway"];
    let root = tempfile::tempdir().unwrap();
    let upstream = Upstream::start("upstream").await;
    let redis = RedisServer::start().await;
    lay_out_the_image(&image, root.path());
    let config = mount_the_compose_volumes(service, root.path(), &upstream);
    assert_ports_are_published(service, &config);
    let args = strings(&service["command"]).unwrap_or_else(|| image.cmd.clone());
    let args: Vec<String> = args.iter().map(|a| under(root.path(), a)).collect();
    let mut env = environment(service);
    let redis_url = env.get("TOLLGATE_RATE_LIMIT__REDIS_URL").expect("compose sets the Redis URL").clone();
    assert_eq!(redis_url, "redis://redis:6379", "the compose service is named redis");
    env.insert("TOLLGATE_RATE_LIMIT__REDIS_URL".into(), redis.url());
    // No fixed ports in tests: the published ports were checked above.
    env.insert("TOLLGATE_LISTENER__HTTPS".into(), "127.0.0.1:0".into());
    env.insert("TOLLGATE_ADMIN__ADDRESS".into(), "127.0.0.1:0".into());
    let gateway = Gateway::spawn(&args, &env, &under(root.path(), &image.workdir)).await;
    assert_eq!(Client::plain(gateway.admin).get("/health/ready").await.status, 200);
    let pem = fetch_server_certificate_pem(gateway.https, "localhost").await;
    let reply = Client::new(gateway.https, &pem).get("/echo/1.0.0/anything?x=1").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.echo().target, "/anything?x=1");
    let shared = eventually(Duration::from_secs(10), async || redis.integer(&["DBSIZE"]).await.unwrap_or(0) > 0);
    assert!(shared.await, "the gateway did not share its rate-limit counts through Redis");
}

impl Image {
    fn parse(dockerfile: &str) -> Image {
        let mut image = Image::default();
        for instruction in instructions(dockerfile) {
            let (keyword, rest) = instruction.split_once(' ').unwrap_or((&instruction, ""));
            let rest = rest.trim();
            match keyword.to_ascii_uppercase().as_str() {
                "FROM" => {
                    image.stages.push(rest.split_whitespace().next().unwrap().to_owned());
                    image.copies.clear();
                }
                "USER" => image.user = rest.to_owned(),
                "ENTRYPOINT" => image.entrypoint = exec_form(rest),
                "CMD" => image.cmd = exec_form(rest),
                "EXPOSE" => image.expose = ports(rest),
                "VOLUME" => image.volumes = exec_form(rest),
                "WORKDIR" => image.workdir = rest.to_owned(),
                "COPY" => image.copies.push(copy(rest)),
                _ => {}
            }
        }
        image
    }
}

/// Instructions with continuation lines joined, comments and blank lines dropped.
fn instructions(dockerfile: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        match line.strip_suffix('\\') {
            Some(start) => current += start,
            None => out.push(std::mem::take(&mut current) + line),
        }
    }
    out
}

fn ports(rest: &str) -> Vec<u16> {
    rest.split_whitespace().map(|p| p.trim_end_matches("/tcp").parse().unwrap()).collect()
}

fn exec_form(rest: &str) -> Vec<String> {
    serde_json::from_str(rest).unwrap_or_else(|e| panic!("not the exec (JSON) form: {rest}: {e}"))
}

fn copy(rest: &str) -> (Option<String>, String, String) {
    let words: Vec<&str> = rest.split_whitespace().collect();
    let from = words.iter().find_map(|w| w.strip_prefix("--from=")).map(str::to_owned);
    let paths: Vec<&str> = words.into_iter().filter(|w| !w.starts_with("--")).collect();
    assert_eq!(paths.len(), 2, "COPY with one source: {rest}");
    (from, paths[0].to_owned(), paths[1].to_owned())
}

fn config_argument(args: &[String]) -> String {
    args.iter().skip_while(|a| *a != "--config").nth(1).expect("--config FILE").clone()
}

/// `path` inside the container, as a path under `root`.
fn under(root: &Path, path: &str) -> String {
    match path.strip_prefix('/') {
        Some(relative) => root.join(relative).to_string_lossy().into_owned(),
        None => path.to_owned(),
    }
}

/// The last stage's files under `root`: directories from the build stage, the baked-in
/// gateway.toml with its container paths moved under `root`.
fn lay_out_the_image(image: &Image, root: &Path) {
    for (from, source, dest) in &image.copies {
        let target = PathBuf::from(under(root, dest));
        match from {
            Some(_) if source.ends_with("/tollgate") => {} // the binary: the one cargo built
            Some(_) => std::fs::create_dir_all(&target).unwrap(),
            None => {
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                let text = read(source).replace("\"/", &format!("\"{}/", root.display()));
                std::fs::write(&target, text).unwrap();
            }
        }
    }
    std::fs::create_dir_all(under(root, &image.workdir)).unwrap();
}

/// The compose service's bind mounts copied into place (API files pointed at the test's
/// upstream), its named volumes created; returns the configuration the image would load.
fn mount_the_compose_volumes(service: &Value, root: &Path, upstream: &Upstream) -> Config {
    for volume in strings(&service["volumes"]).expect("volumes") {
        let parts: Vec<&str> = volume.split(':').collect();
        let target = PathBuf::from(under(root, parts[1]));
        std::fs::create_dir_all(&target).unwrap();
        if let Some(relative) = parts[0].strip_prefix("./") {
            for entry in std::fs::read_dir(repo().join("docker").join(relative)).unwrap() {
                let path = entry.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap().replace("http://upstream:8080", &upstream.url());
                std::fs::write(target.join(path.file_name().unwrap()), text).unwrap();
            }
        }
    }
    let args = strings(&service["command"]).expect("command");
    let config = load(&std::fs::read_to_string(under(root, &config_argument(&args))).unwrap(), Vec::new());
    let state = config.source.state_dir.clone().expect("state_dir");
    assert!(state.is_dir(), "compose mounts a writable volume at state_dir ({})", state.display());
    config
}

fn assert_ports_are_published(service: &Value, config: &Config) {
    let published: Vec<u16> = strings(&service["ports"])
        .expect("ports")
        .iter()
        .map(|p| p.rsplit(':').next().unwrap().parse().unwrap())
        .collect();
    for port in [config.listener.https.port(), config.admin.address.port()] {
        assert!(published.contains(&port), "compose publishes container port {port}: {published:?}");
    }
}

fn environment(service: &Value) -> BTreeMap<String, String> {
    let environment = service["environment"].as_object().expect("environment as a map");
    environment.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned))).collect()
}

fn strings(value: &Value) -> Option<Vec<String>> {
    value.as_array().map(|items| items.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
}

fn load(toml: &str, env: Vec<(String, String)>) -> Config {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), toml).unwrap();
    config::parse(Some(file.path()), env).unwrap_or_else(|e| panic!("{e}\n{toml}")).config
}

/// The binary run the container's way; killed when dropped.
struct Gateway {
    _child: tokio::process::Child,
    https: std::net::SocketAddr,
    admin: std::net::SocketAddr,
}

impl Gateway {
    async fn spawn(args: &[String], env: &BTreeMap<String, String>, workdir: &str) -> Gateway {
        let mut child = tokio::process::Command::new(binary())
            .args(args)
            .envs(env)
            .current_dir(workdir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        let started = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                let entry: Value =
                    serde_json::from_str(&line).unwrap_or_else(|_| panic!("the image logs JSON, got: {line}"));
                if entry["message"] == "gateway started" {
                    return Some(entry);
                }
                seen.push(line);
            }
            None
        });
        let entry = started.await.ok().flatten().unwrap_or_else(|| panic!("did not start:\n{}", seen.join("\n")));
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let addr = |field: &str| {
            entry[field].as_str().and_then(|a| a.parse().ok()).unwrap_or_else(|| panic!("{field} in {entry}"))
        };
        Gateway { https: addr("https"), admin: addr("admin"), _child: child }
    }
}
