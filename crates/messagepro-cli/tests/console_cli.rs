//! `messagepro migrate | user … | config print | serve` run as a user would: the real binary,
//! a SQLite file in a temp dir, passwords piped on stdin or generated.

use std::io::Write;
use std::process::{Command, Output, Stdio};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn db_url(&self) -> String {
        format!("sqlite://{}/data/cli.db", self.dir.path().display())
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_messagepro"));
        c.args(args)
            .current_dir(self.dir.path())
            .env_remove("DATABASE_URL")
            .env_remove("MESSAGEPRO_API_SECRET")
            .env_remove("MESSAGEPRO_CONFIG")
            .env("MESSAGEPRO_DATABASE_URL", self.db_url());
        c
    }

    /// Runs with `stdin` piped in (or a closed, empty stdin).
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            let mut input = child.stdin.take().unwrap();
            if let Some(s) = stdin {
                input.write_all(s.as_bytes()).unwrap();
            }
        }
        child.wait_with_output().unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn migrate_creates_the_database_file_and_its_folder() {
    let env = Env::new();
    let o = env.run(&["migrate"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "database migrated (sqlite)");
    assert!(env.dir.path().join("data/cli.db").exists());
    // twice is fine
    assert!(env.run(&["migrate"], None).status.success());
}

#[test]
fn user_add_list_set_role_reset_password() {
    let env = Env::new();
    let o = env.run(
        &["user", "add", "--username", "Awa", "--role", "admin"],
        Some("a-long-password-from-stdin\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "user awa created with role admin");
    assert!(
        !stdout(&o).contains("a-long-password"),
        "a piped password is not echoed"
    );

    // generated password, printed once (empty stdin)
    let o = env.run(
        &["user", "add", "--username", "ibrahima", "--role", "lecteur"],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("password for ibrahima (shown once, write it down): "),
        "{out}"
    );
    let pw = out.trim().rsplit(' ').next().unwrap();
    assert_eq!(pw.len(), 16);

    let o = env.run(&["user", "list"], None);
    let list = stdout(&o);
    assert!(list.contains("awa") && list.contains("admin"), "{list}");
    assert!(
        list.contains("ibrahima") && list.contains("lecteur"),
        "{list}"
    );
    assert!(!list.contains("$argon2"), "no hash in the listing");

    let o = env.run(
        &[
            "user",
            "set-role",
            "--username",
            "ibrahima",
            "--role",
            "operateur",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = env.run(&["--json", "user", "list"], None);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let ib = v
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "ibrahima")
        .unwrap();
    assert_eq!(ib["role"], "operateur");

    let o = env.run(&["user", "reset-password", "--username", "ibrahima"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let new_pw = stdout(&o).trim().rsplit(' ').next().unwrap().to_owned();
    assert_ne!(new_pw, pw);
}

#[test]
fn user_errors_are_clear_and_exit_2() {
    let env = Env::new();
    let o = env.run(
        &["user", "add", "--username", "a b", "--role", "admin"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("invalid username"), "{}", stderr(&o));
    let o = env.run(
        &["user", "add", "--username", "awa", "--role", "boss"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown role \"boss\""),
        "{}",
        stderr(&o)
    );
    let o = env.run(
        &["user", "add", "--username", "awa", "--role", "admin"],
        Some("short\n"),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("too short"), "{}", stderr(&o));
    env.run(
        &["user", "add", "--username", "awa", "--role", "admin"],
        None,
    );
    let o = env.run(
        &["user", "add", "--username", "awa", "--role", "admin"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    let o = env.run(
        &[
            "user",
            "set-role",
            "--username",
            "nobody",
            "--role",
            "admin",
        ],
        None,
    );
    assert!(
        stderr(&o).contains("no user named nobody"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn config_print_masks_the_secret() {
    let env = Env::new();
    std::fs::write(
        env.dir.path().join("messagepro.toml"),
        "listen = \"0.0.0.0:9090\"\ndefault_language = \"en\"\n",
    )
    .unwrap();
    let o = env
        .cmd(&["config", "print"])
        .env("MESSAGEPRO_API_SECRET", "sk-live-SENTINEL-secret-9z8y")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("listen") && out.contains("0.0.0.0:9090"),
        "{out}"
    );
    // keys are padded to the longest one: compare key and value, not the spacing
    assert!(
        out.lines().any(|l| l
            .split_once('=')
            .is_some_and(|(k, v)| k.trim() == "default_language" && v.trim() == "en")),
        "{out}"
    );
    assert!(out.contains("••••9z8y"), "{out}");
    assert!(!out.contains("SENTINEL"), "{out}");

    let o = env
        .cmd(&["config", "print", "--config", "missing.toml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.toml"));
}

#[test]
fn serve_refuses_to_start_without_the_api_secret() {
    let env = Env::new();
    let out = env.run(&["serve", "--listen", "127.0.0.1:0"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("MESSAGEPRO_API_SECRET"), "{err}");
    assert!(err.contains("messagepro demo"), "{err}");
}

#[test]
fn serve_starts_and_says_how_to_create_the_first_admin() {
    let env = Env::new();
    let mut child = env
        .cmd(&["serve", "--listen", "127.0.0.1:0"])
        .env(
            "MESSAGEPRO_API_SECRET",
            "0123456789abcdef0123456789abcdef01234567",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            seen.push(l);
            if seen
                .iter()
                .any(|l| l.contains("messagepro user add --username admin --role admin"))
            {
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let all = seen.join("\n");
    assert!(all.contains("listening on http://127.0.0.1:"), "{all}");
    assert!(
        all.contains("messagepro user add --username admin --role admin"),
        "{all}"
    );
}

#[test]
fn logs_are_one_json_object_per_line_when_asked() {
    let env = Env::new();
    let out = env
        .cmd(&["-vv", "migrate"])
        .env("MESSAGEPRO_LOG_FORMAT", "json")
        .env_remove("MESSAGEPRO_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "debug logs expected");
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{l}");
    }
    // and human lines by default
    let out = env
        .cmd(&["-vv", "migrate"])
        .env_remove("MESSAGEPRO_LOG")
        .output()
        .unwrap();
    let first = stderr(&out).lines().next().unwrap_or_default().to_owned();
    assert!(!first.is_empty());
    assert!(
        serde_json::from_str::<serde_json::Value>(&first).is_err(),
        "{first}"
    );
}
