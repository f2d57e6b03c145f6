//! `tollgate demo`, the README's first command: started as a user would (from the
//! repository, with config/gateway.toml), its printed commands run literally with `sh -c`
//! and real curl, showing a 401, a 200, a 429 and the metrics; then stopped.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tollgate_gateway::demo::{GUIDE_END, GUIDE_START};

use super::tools::{repo, text, tool};
use crate::support::binary;

#[tokio::test]
async fn the_demo_prints_commands_that_show_401_200_429_and_the_metrics() {
    let curl = tool("curl");
    let (mut demo, guide) = start_demo().await;
    let commands: Vec<&str> =
        guide.lines().filter(|line| line.starts_with("curl ") || line.starts_with("for ")).collect();
    assert_eq!(commands.len(), 5, "401, 200, 429, metrics, config:\n{guide}");
    let path = format!("{}:{}", curl.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let sh = async |command: &str| {
        let output = Command::new("sh").arg("-c").arg(command).env("PATH", &path).output().await.unwrap();
        assert!(output.status.success(), "{command}\n{}", text(&output.stderr));
        text(&output.stdout)
    };
    let unauthorized = sh(commands[0]).await;
    assert!(status_line(&unauthorized).ends_with(" 401"), "{unauthorized}");
    assert!(unauthorized.contains("\"code\":\"900902\""), "{unauthorized}");
    let ok = sh(commands[1]).await;
    assert!(status_line(&ok).ends_with(" 200"), "{ok}");
    assert!(ok.contains("tollgate demo echo") && ok.contains("\"x-tollgate-application-id\": \"demo-app\""), "{ok}");
    let codes = sh(commands[2]).await;
    let codes: Vec<&str> = codes.lines().collect();
    assert_eq!(codes.first(), Some(&"200"), "{codes:?}");
    assert!(codes.contains(&"429") && codes.iter().all(|c| *c == "200" || *c == "429"), "{codes:?}");
    let metrics = sh(commands[3]).await;
    let throttled = "tollgate_throttled_total{api=\"PetStore\",level=\"subscription\",version=\"1.0.0\"}";
    assert!(metrics.contains(throttled), "{metrics}");
    let config: serde_json::Value = serde_json::from_str(&sh(commands[4]).await).unwrap();
    assert!(config["revision"].as_u64().is_some(), "{config}");
    stop(&mut demo).await;
}

#[tokio::test]
async fn the_demo_names_the_busy_port_it_cannot_use() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let output = demo_command(&["--upstream-port", &port, "--issuer-port", "0"]).output().await.unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")) && stderr.contains("0 = any free port"),
        "{stderr}"
    );
}

/// `tollgate demo` from the repository root with every port ephemeral.
fn demo_command(args: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command
        .arg("demo")
        .args(args)
        .current_dir(repo())
        .env("TOLLGATE_LISTENER__HTTPS", "127.0.0.1:0")
        .env("TOLLGATE_LISTENER__HTTP", "127.0.0.1:0")
        .env("TOLLGATE_ADMIN__ADDRESS", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Starts the demo and reads its stdout up to the end of the guide.
async fn start_demo() -> (Child, String) {
    let mut demo = demo_command(&["--upstream-port", "0", "--issuer-port", "0"]).spawn().unwrap();
    let mut stdout = BufReader::new(demo.stdout.take().unwrap()).lines();
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let mut stderr_lines = BufReader::new(demo.stderr.take().unwrap()).lines();
    let sink = stderr.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr_lines.next_line().await {
            sink.lock().unwrap().push(line);
        }
    });
    let mut guide = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = stdout.next_line().await {
            let end = line == GUIDE_END;
            if line == GUIDE_START || !guide.is_empty() {
                guide.push(line);
            }
            if end {
                return true;
            }
        }
        false
    });
    if !read.await.unwrap_or(false) {
        let _ = demo.start_kill();
        let _ = demo.wait().await;
        panic!("the demo printed no guide:\n{}\n{}", guide.join("\n"), stderr.lock().unwrap().join("\n"));
    }
    // Keep draining stdout (the access log) so the demo never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
    (demo, guide.join("\n"))
}

/// SIGTERM, then a clean exit within the sample configuration's drain.
async fn stop(demo: &mut Child) {
    let pid = demo.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(20), demo.wait()).await.expect("the demo stopped").unwrap();
    assert_eq!(status.code(), Some(0));
}

fn status_line(response: &str) -> &str {
    response.lines().next().unwrap_or_default().trim_end()
}
